"""waitress, the default backend: pure Python, threads, Windows and Unix.

waitress has no graceful stop of its own (Pylons/waitress#198): its
``server.run()`` cuts in-flight requests on a signal. This backend drives
waitress's event loop itself (``wasyncore.loop``) over a socket map it owns,
so that on SIGTERM or SIGINT it stops accepting, lets the requests in flight
finish, and only then closes the connections. A second signal, or SIGQUIT,
closes them at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any, ClassVar

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from .._middleware import WSGIApp
from .base import Server, describe_all

log = logging.getLogger("flaskd")

#: Signal -> its weight: a graceful stop at 1, a quick stop from 2 (a second signal, or SIGQUIT).
_STOP_SIGNALS: dict[int, int] = {signal.SIGTERM: 1, signal.SIGINT: 1}
if hasattr(signal, "SIGQUIT"):  # not on Windows
    _STOP_SIGNALS[signal.SIGQUIT] = 2


class _Wakeup(wasyncore.file_dispatcher):  # type: ignore[misc]
    """The read end of a pipe a signal handler writes to, to wake the event loop."""

    def writable(self) -> bool:
        return False

    def handle_read(self) -> None:
        self.recv(64)


def _unix_peers(app: WSGIApp) -> WSGIApp:
    """The app for waitress's unix sockets, which name every peer ``localhost``.

    gunicorn and granian leave a unix-socket peer's address empty, as there is
    none; so does flaskd on every backend (the access log shows ``-``).
    """

    def call(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ["REMOTE_ADDR"] = ""
        environ.pop("REMOTE_PORT", None)  # waitress sets the string "None"
        return app(environ, start_response)

    return call


class WaitressServer(Server):
    """Serve with waitress, stopping gracefully on SIGTERM and SIGINT."""

    name = "waitress"
    package = "waitress"
    unsupported: ClassVar[dict[str, str]] = {
        "workers": "it serves from one process; use --threads, or --server gunicorn",
        "http2": "it speaks HTTP/1.1 only; use --server granian",
    }

    def run(self) -> None:
        config = self.config
        sockets = self.open_sockets()
        self.map: dict[int, Any] = {}
        app = self.wsgi_app()
        # waitress takes TCP and unix sockets in separate servers; they share the loop.
        groups = [
            [s for s in sockets if s.family != socket.AF_UNIX],
            [s for s in sockets if s.family == socket.AF_UNIX],
        ]
        servers = [
            create_server(
                _unix_peers(app) if group[0].family == socket.AF_UNIX else app,
                map=self.map,
                sockets=group,
                threads=config.threads,
                connection_limit=config.max_connections + 2 * len(group),
                channel_timeout=config.idle_timeout,
                cleanup_interval=max(1.0, min(30.0, config.idle_timeout / 2)),
                max_request_body_size=config.max_request_body + 1,  # waitress refuses at ==
                clear_untrusted_proxy_headers=False,  # flaskd's middleware handles them
            )
            for group in groups
            if group
        ]
        try:
            self.service.start(self.resolved)
            self.ready(describe_all(sockets))
            self._serve(servers)
        finally:
            self.close_sockets(sockets)
        self.service.stop()

    def _serve(self, servers: list[Any]) -> None:
        read, write = os.pipe()
        os.set_blocking(write, False)
        _Wakeup(read, map=self.map)
        signals = [0]

        def on_signal(signum: int, frame: Any) -> None:
            signals[0] += _STOP_SIGNALS[signum]
            with contextlib.suppress(BlockingIOError):
                os.write(write, b"!")

        previous = {s: signal.signal(s, on_signal) for s in _STOP_SIGNALS}
        timeout = servers[0].adj.asyncore_loop_timeout
        drain_until = deadline = None
        try:
            while True:
                wasyncore.loop(timeout=timeout, map=self.map, count=1)
                if not signals[0]:
                    continue
                now = time.monotonic()
                quick = signals[0] > 1  # a second signal, or SIGQUIT
                if drain_until is None:  # the stop begins
                    self.stopping(at_once=quick)
                    drain_until = now + self.drain_delay
                    timeout = 0.05
                elif quick:
                    self.stopping_at_once()
                if quick:
                    break
                if now < drain_until:
                    continue  # draining: still accepting and serving, readiness 503
                if deadline is None:
                    if self.drain_delay:
                        self.drained()
                    self._stop_accepting()
                    deadline = now + self.config.graceful_timeout
                if not self._busy() or now > deadline:
                    break
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            for server in servers:
                server.task_dispatcher.shutdown(timeout=0.5)
            wasyncore.close_all(self.map)
            os.close(write)

    def _stop_accepting(self) -> None:
        for dispatcher in list(self.map.values()):
            if isinstance(dispatcher, BaseWSGIServer):
                dispatcher.accepting = False
                wasyncore.dispatcher.close(dispatcher)

    def _busy(self) -> bool:
        """Whether a connection has a request running, queued, half-read or unsent."""
        busy = False
        for c in list(self.map.values()):
            if not isinstance(c, HTTPChannel):
                continue
            if c.requests or c.total_outbufs_len or c.request is not None:
                busy = True
            elif not c.will_close:
                c.will_close = True  # an idle keep-alive connection: close it now
        return busy
