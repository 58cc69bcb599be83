"""waitress, the default backend: pure Python, threads, Windows and Unix.

waitress has no graceful stop of its own (Pylons/waitress#198): its
``server.run()`` cuts in-flight requests on a signal. This backend drives
waitress's event loop itself (``wasyncore.loop``) over a socket map it owns,
so that on SIGTERM or SIGINT it stops accepting, lets the requests in flight
finish, and only then closes the connections.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from .._errors import ConfigError
from .base import Server, url

log = logging.getLogger("flaskd")

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _Wakeup(wasyncore.file_dispatcher):  # type: ignore[misc]
    """The read end of a pipe a signal handler writes to, to wake the event loop."""

    def writable(self) -> bool:
        return False

    def handle_read(self) -> None:
        self.recv(64)


class WaitressServer(Server):
    """Serve with waitress, stopping gracefully on SIGTERM and SIGINT."""

    name = "waitress"

    def run(self) -> None:
        opts = self.options
        self.map: dict[int, Any] = {}
        try:
            server = create_server(
                self.service,
                map=self.map,
                host=opts["host"],
                port=opts["port"],
                threads=opts["threads"],
            )
        except OSError as e:
            address = url(opts["host"], opts["port"]).removeprefix("http://")
            raise ConfigError(f"cannot listen on {address}: {e.strerror or e}") from None
        self.service.start(self.resolved)
        for host, port in _listening(server):
            log.info("serving on %s with waitress, %d threads", url(host, port), opts["threads"])
        self._serve(server)
        self.service.stop()

    def _serve(self, server: Any) -> None:
        read, write = os.pipe()
        os.set_blocking(write, False)
        _Wakeup(read, map=self.map)
        signals = [0]

        def on_signal(signum: int, frame: Any) -> None:
            signals[0] += 1
            with contextlib.suppress(BlockingIOError):
                os.write(write, b"!")

        previous = {s: signal.signal(s, on_signal) for s in _STOP_SIGNALS}
        timeout = server.adj.asyncore_loop_timeout
        deadline = None
        try:
            while True:
                wasyncore.loop(timeout=timeout, map=self.map, count=1)
                if not signals[0]:
                    continue
                if deadline is None:
                    log.info("stopping: finishing requests in flight")
                    self._stop_accepting()
                    deadline = time.monotonic() + self.options["graceful_timeout"]
                    timeout = 0.05
                if signals[0] > 1 or not self._busy() or time.monotonic() > deadline:
                    break
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            server.task_dispatcher.shutdown(timeout=0.5)
            wasyncore.close_all(self.map)
            os.close(write)

    def _stop_accepting(self) -> None:
        for dispatcher in list(self.map.values()):
            if isinstance(dispatcher, BaseWSGIServer):
                dispatcher.accepting = False
                wasyncore.dispatcher.close(dispatcher)

    def _busy(self) -> bool:
        return any(
            isinstance(c, HTTPChannel) and (c.requests or c.total_outbufs_len)
            for c in list(self.map.values())
        )


def _listening(server: Any) -> list[tuple[str, int]]:
    if hasattr(server, "effective_listen"):
        return list(server.effective_listen)
    return [(server.effective_host, server.effective_port)]
