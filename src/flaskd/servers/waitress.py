"""waitress, the default backend: pure Python, threads, Windows and Unix.

waitress has no graceful stop of its own (Pylons/waitress#198): its
``server.run()`` cuts in-flight requests on a signal. This backend drives
waitress's event loop itself (``wasyncore.loop``) over a socket map it owns,
so that on SIGTERM or SIGINT it stops accepting, lets the requests in flight
finish, and only then closes the connections. A second signal, or SIGQUIT,
closes them at once. SIGHUP is ignored with a warning: there are no workers
to replace, and the default action would end the process without its
shutdown hooks.

flaskd also gives waitress what it lacks against slow or hostile clients
(`_Parser`, `_Channel`, `_expire`): limits on the request line, the number
and the size of header fields, checked as the bytes arrive; a time limit on a
request's head that a client trickling a byte at a time cannot reset (waitress's
``channel_timeout`` restarts at every byte); an inactivity limit on its body;
and 400 with the connection closed for a request whose framing is ambiguous.
waitress reads heads and bodies in its event loop, not in its threads, so a
slow client only costs a connection slot, until these timers close it.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import signal
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import BaseWSGIServer as Listener
from waitress.server import create_server
from waitress.utilities import BadRequest, RequestHeaderFieldsTooLarge

from .._middleware import WSGIApp
from .._sockets import BACKLOG
from ._head import HeadScanner, HeadTooLarge, Limits
from .base import Server, describe_all

log = logging.getLogger("flaskd")
_queue_log = logging.getLogger("waitress.queue")

#: Signal -> its weight: a graceful stop at 1, a quick stop from 2 (a second signal, or SIGQUIT).
_STOP_SIGNALS: dict[int, int] = {signal.SIGTERM: 1, signal.SIGINT: 1}
if hasattr(signal, "SIGQUIT"):  # not on Windows
    _STOP_SIGNALS[signal.SIGQUIT] = 2
#: Signals logged and otherwise ignored (by default SIGHUP ends a process, skipping its hooks).
_HANGUP = [signal.SIGHUP] if hasattr(signal, "SIGHUP") else []
#: waitress's own idle timeout, out of the way of flaskd's timers.
_NEVER = 10**9


class _URITooLong(BadRequest):  # type: ignore[misc]
    code = 414
    reason = "URI Too Long"


class _Parser(HTTPRequestParser):  # type: ignore[misc]
    """waitress's request parser, with flaskd's limits on the head and RFC 9112's framing rules.

    waitress counts only the head's total size; here each line is checked as it
    arrives (`HeadScanner`), so 20,000 small fields are refused at the 101st,
    not parsed. A request with both ``Content-Length`` and chunked
    ``Transfer-Encoding``, or any ``Transfer-Encoding`` in HTTP/1.0, has no
    reliable end (RFC 9112 6.1, 6.3): waitress would serve it and what follows
    it, so it gets 400 and the connection closes, as with gunicorn and nginx.
    """

    limits: ClassVar[Limits]
    completed: bool

    def __init__(self, adj: Any) -> None:
        super().__init__(adj)
        self.scanner = HeadScanner(self.limits)

    def received(self, data: bytes) -> int:
        if not self.completed and not self.scanner.complete:
            try:
                self.scanner.feed(data)
            except HeadTooLarge as e:
                self.parse_header(b"GET / HTTP/1.0\r\n")  # what waitress does for its own 431
                error = _URITooLong if e.status == 414 else RequestHeaderFieldsTooLarge
                self.error = error(str(e))
                self.completed = True
                return len(data)
        return int(super().received(data))

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if self.version == "1.0" and "TRANSFER_ENCODING" in self.headers:
            raise ParsingError("Transfer-Encoding in an HTTP/1.0 request")
        if self.chunked and "CONTENT_LENGTH" in self.headers:
            raise ParsingError("both Content-Length and Transfer-Encoding")


class _Channel(HTTPChannel):  # type: ignore[misc]
    """waitress's connection, noting when the head of the request being read began."""

    head_started: float | None = None
    _head_of: Any = None  # the request whose head began then

    def received(self, data: bytes) -> bool:
        done = bool(super().received(data))
        request = self.request
        if request is None or request.headers_finished:
            self.head_started = None
        elif request is not self._head_of:
            self._head_of, self.head_started = request, time.time()
        return done


def _expire(channels: Iterable[Any], limits: Limits) -> None:
    """Close the connections past a time limit (waitress's clock: ``time.time``).

    A request being served is the app's time, never cut here. A request whose
    head is incomplete gets ``limits.header`` from its first byte; one whose
    body is coming, ``limits.body`` since the last byte; a connection with no
    request, the idle timeout (a new one that sent nothing, `Limits.first_byte`).
    """
    now = time.time()
    for c in channels:
        if not isinstance(c, _Channel) or c.requests or c.will_close:
            continue
        request = c.request
        if request is not None and c.head_started is not None:
            late = now - c.head_started > limits.header
        elif request is not None:
            late = now - c.last_activity > limits.body
        else:
            fresh = c.last_activity == c.creation_time
            late = now - c.last_activity > (limits.first_byte if fresh else limits.idle)
        if late:
            log.debug("closing a connection from %s past its time limit", c.addr)
            c.will_close = True  # the loop closes it at once


def _accept_bursts(server: Any) -> None:
    """Make ``server`` accept up to 64 connections per turn of the loop, not one: each turn
    looks at every open connection, so a burst of connections (or the clients queued behind a
    flood) would wait seconds in the listen queue."""
    accept_one = server.handle_accept

    def handle_accept() -> None:
        for _ in range(64):
            before = len(server._map)
            accept_one()
            if len(server._map) == before or len(server._map) >= server.adj.connection_limit:
                return

    server.handle_accept = handle_accept


def _make_room(channels: Iterable[Any], limit: int) -> None:
    """At the connection limit, close the sixteenth of the connections idle the longest (no
    request, nothing half-read or unsent), as nginx does when it runs out of connections:
    silent or kept-alive connections would otherwise keep new clients out until they time out."""
    open_ = [c for c in channels if isinstance(c, _Channel)]
    if any(c.will_close for c in open_):
        return  # room is being made already
    idle = [
        c
        for c in open_
        if not (c.requests or c.request or c.total_outbufs_len or c.close_when_flushed)
    ]
    for c in heapq.nsmallest(max(1, limit // 16), idle, key=lambda c: c.last_activity):
        c.will_close = True


class _Wakeup(wasyncore.dispatcher):  # type: ignore[misc]
    """The read end of a socket pair a signal handler writes to, to wake the event loop.

    A socket pair, not a pipe: waitress's loop polls sockets only on Windows.
    """

    def writable(self) -> bool:
        return False

    def handle_read(self) -> None:
        self.recv(64)


class _QueueLog:
    """Stands in for waitress's queue logger, which writes ``Task queue depth is N`` each time
    a request has to wait for a thread: under load, a line for most requests
    (Pylons/waitress#231, #309), costing more than flaskd's whole middleware. Here the first
    wait is logged at once; after it, one line at most every `every` seconds sums up the waits
    (`report`, also called by the event loop's timer), on the same logger (``waitress.queue``).
    """

    every = 10.0

    def __init__(self, threads: int) -> None:
        self.busy = f"all {threads} threads busy" if threads > 1 else "the one thread busy"
        self.last: float | None = None  # when the last line was written
        self.waits = 0
        self.deepest = 0

    def warning(self, message: str, depth: int) -> None:
        """What waitress calls, with the depth of its queue, when a request has to wait."""
        self.waits += 1
        self.deepest = max(self.deepest, depth)
        if self.last is None:
            _queue_log.warning(
                "%s: a request waits for a thread (--threads sets how many; waits are summed up"
                " here at most every %.0f s)",
                self.busy,
                self.every,
            )
            self.last, self.waits, self.deepest = time.monotonic(), 0, 0
        else:
            self.report()

    def report(self) -> None:
        """Log the waits since the last line, if there were any and it is time."""
        now = time.monotonic()
        if not self.waits or self.last is None or now - self.last < self.every:
            return
        _queue_log.warning(
            "%s: %d request%s waited for a thread in the last %.0f s, up to %d at once",
            self.busy,
            self.waits,
            "" if self.waits == 1 else "s",
            now - self.last,
            self.deepest,
        )
        self.last, self.waits, self.deepest = now, 0, 0


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
        self.limits = Limits.from_config(config)
        app = self.wsgi_app()
        # waitress takes TCP and unix sockets in separate servers; they share the loop.
        groups = [
            [s for s in sockets if s.family != socket.AF_UNIX],
            [s for s in sockets if s.family == socket.AF_UNIX],
        ]
        head = config.max_request_line + config.max_header_fields * (config.max_header_size + 2)
        servers = [
            create_server(
                _unix_peers(app) if group[0].family == socket.AF_UNIX else app,
                map=self.map,
                sockets=group,
                threads=config.threads,
                connection_limit=config.max_connections + 2 * len(group),
                backlog=BACKLOG,  # waitress listens again with its own (1024)
                channel_timeout=_NEVER,  # flaskd's timers close connections (_expire)
                max_request_header_size=head + 1024,  # _Parser checks each line first
                max_request_body_size=config.max_request_body + 1,  # waitress refuses at ==
                clear_untrusted_proxy_headers=False,  # flaskd's middleware handles them
            )
            for group in groups
            if group
        ]
        self.queue_logs = [_QueueLog(config.threads) for _ in servers]
        for server, queue_log in zip(servers, self.queue_logs, strict=True):
            server.task_dispatcher.queue_logger = queue_log
        parser = type("Parser", (_Parser,), {"limits": self.limits})
        for dispatcher in self.map.values():
            if isinstance(dispatcher, Listener):
                dispatcher.channel_class = type("Channel", (_Channel,), {"parser_class": parser})
                _accept_bursts(dispatcher)
        try:
            self.service.start(self.resolved)
            self.ready(describe_all(sockets))
            self._serve(servers)
        finally:
            self.close_sockets(sockets)
        self.service.stop()

    def _serve(self, servers: list[Any]) -> None:
        read, write = socket.socketpair()
        write.setblocking(False)
        _Wakeup(read, map=self.map)
        signals = [0]
        hangups = [0]

        def on_signal(signum: int, frame: Any) -> None:
            if signum in _STOP_SIGNALS:
                signals[0] += _STOP_SIGNALS[signum]
            else:
                hangups[0] += 1
            with contextlib.suppress(BlockingIOError):
                write.send(b"!")

        handled = [*_STOP_SIGNALS, *_HANGUP]
        previous = {s: signal.signal(s, on_signal) for s in handled}
        limits = self.limits
        full = min(d.adj.connection_limit for d in self.map.values() if isinstance(d, Listener))
        # Wake often enough to close a connection close to its time limit.
        tick = min(1.0, limits.header / 4, limits.body / 4, (limits.idle or 1.0) / 4)
        timeout = tick
        next_expiry = 0.0
        drain_until: float | None = None
        deadline: float | None = None
        try:
            while True:
                if deadline is None and len(self.map) >= full:
                    # Before polling: at the limit, waitress stops listening, and the poll
                    # would wait a whole tick on connections that send nothing.
                    _make_room(list(self.map.values()), self.config.max_connections)
                # poll(), not select(): select() fails past file descriptor 1023.
                wasyncore.loop(timeout=timeout, map=self.map, use_poll=True, count=1)
                now = time.monotonic()
                if now >= next_expiry:
                    _expire(list(self.map.values()), limits)
                    for queue_log in self.queue_logs:
                        queue_log.report()
                    next_expiry = now + tick
                if hangups[0]:
                    hangups[0] = 0
                    log.warning(
                        "SIGHUP ignored: waitress serves from one process and has no workers"
                        " to replace; restart the service to reload it"
                    )
                if not signals[0]:
                    continue
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
                if not self._busy() or time.monotonic() > deadline:
                    break
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            for server in servers:
                server.task_dispatcher.shutdown(timeout=0.5)
            wasyncore.close_all(self.map)
            write.close()

    def _stop_accepting(self) -> None:
        for dispatcher in list(self.map.values()):
            if isinstance(dispatcher, Listener):
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
