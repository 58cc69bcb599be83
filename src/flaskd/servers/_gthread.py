"""gunicorn's gthread worker, reading each request's head in its poller loop.

gthread hands a connection to a thread as soon as it is readable, and the
thread then blocks in gunicorn's parser until the head is complete: 16
clients that send half a head hold 16 threads, and nobody else is served.
Here the worker's main loop reads the head itself, without blocking, checks
it against the limits as it comes (`HeadScanner`) and hands the connection to
a thread only once the head is complete. A connection whose head is not
complete ``Limits.header`` seconds after its first byte, or that sends nothing
for the idle timeout, is closed by the loop; a refused head is answered (414,
431) and closed there too. At the connection limit, the loop makes room by
closing connections that wait for a request (`Worker._make_room`).

In the thread, a read or a write on the socket waits at most ``Limits.body``
seconds (the kernel's SO_RCVTIMEO and SO_SNDTIMEO, set once per connection: a
Python socket timeout would poll before every call): a request body that stalls
that long ends as if the client had gone (`_Unreader`), and a client that stops
reading its response for that long is disconnected, so the thread is freed.
gthread's lingering close (RFC 9112 9.6) blocks its loop up to 2 s per
connection; here the loop lingers without blocking (`_linger`).
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import itertools
import selectors
import socket
import struct
import time
from functools import partial
from typing import Any, ClassVar

from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.base import Worker as BaseWorker
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

from ._head import HeadScanner, HeadTooLarge, Limits

#: How long a closing connection may still send (discarded) before it is closed: closing with
#: unread bytes would reset it, and the client could lose the end of its answer.
_LINGER = 2.0


class _Unreader(SocketUnreader):  # type: ignore[misc]
    """gunicorn's socket reader where a read past the socket's timeout (the body timeout)
    ends the request as if the client had gone: the app sees the body end, and the
    connection is shut, so that nothing more is read or answered on it."""

    def chunk(self, size_hint: int | None = None) -> bytes:
        try:
            return bytes(super().chunk(size_hint))
        except (TimeoutError, BlockingIOError):  # SO_RCVTIMEO ends a blocking read with EAGAIN
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            return b""


class _Conn(TConn):  # type: ignore[misc]
    """A connection, with the head read so far by the worker's loop."""

    def __init__(self, worker: Worker, sock: socket.socket, client: Any, server: Any) -> None:
        super().__init__(worker.cfg, sock, client, server)
        limit = min(worker.limits.body, 2**31 - 1)  # longer is "forever" to the kernel anyway
        seconds = struct.pack("ll", int(limit), int(limit % 1 * 1_000_000))  # a struct timeval
        for option in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):
            sock.setsockopt(socket.SOL_SOCKET, option, seconds)
        self.worker = worker
        self.head = b""
        self.scanner: HeadScanner | None = None
        self.started: float | None = None  # when the head's first byte came
        self.deadline = 0.0
        self.head_ready = False

    def init(self) -> None:
        """Set up the connection for its thread (gthread calls this before each request)."""
        super().init()
        if not isinstance(self.parser.unreader, _Unreader):
            self.parser.unreader = _Unreader(self.sock)
        if self.head:
            self.parser.unreader.unread(self.head)
            self.head = b""

    def close(self, graceful: bool = False) -> None:
        if graceful:
            self.worker.linger(self.sock)
        else:
            super().close()


class Worker(ThreadWorker):  # type: ignore[misc]
    """gthread, where a thread gets a connection only once its request's head is complete."""

    limits: ClassVar[Limits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading: set[_Conn] = set()  # connections whose head the loop is reading
        self._lingering: set[socket.socket] = set()
        self._timers: list[tuple[float, int, Any]] = []  # (deadline, tie-break, conn or socket)
        self._order = itertools.count()
        self._stop_capped = False

    def is_parent_alive(self) -> bool:
        """gthread's check; once the main process is gone (killed), stop as on SIGTERM: the
        listeners close, and connections that sent nothing get the stop's short linger, not
        their idle timeout (orphaned workers stayed up 30 s for a silent client)."""
        if super().is_parent_alive():
            return True
        self.alive = False
        return False

    def handle_quit(self, sig: int, frame: Any) -> None:
        """SIGQUIT: a quick stop, without gthread's ``tpool.shutdown()`` in the signal handler.

        The handler runs in the loop's thread, wherever the signal finds it: in the thread
        pool's ``submit``, which holds the pool's lock, ``shutdown`` waited for that same lock
        until the master's kill (9 of 150 quick stops under load; docs/gunicorn-upstream.md).
        The quick stop ends in ``os._exit`` (the gunicorn backend's ``worker_exit``), which
        cuts the threads.
        """
        BaseWorker.handle_quit(self, sig, frame)

    def accept(self, listener: socket.socket) -> None:
        try:
            sock, addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self.enqueue_req(_Conn(self, sock, addr, listener.getsockname()))
        if self.nr_conns >= self.worker_connections:
            # Now, not after the loop's next turn: gthread stops listening at the limit, and
            # that turn would wait a second on connections that send nothing.
            self._make_room(max(1, self.worker_connections // 16))

    def enqueue_req(self, conn: _Conn) -> None:
        """Hand ``conn`` to a thread if its head is complete, else read the head first (gthread
        calls this for a new connection, a kept-alive one that became readable, and one whose
        last request was followed by bytes of the next)."""
        if conn.head_ready:
            conn.head_ready = False
            super().enqueue_req(conn)
            return
        conn.sock.setblocking(False)
        conn.head, conn.started = b"", None
        conn.scanner = HeadScanner(self.limits)
        ahead = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        if ahead and self._take(conn, ahead):
            return
        # Most often the whole head is there already (gthread calls this once a kept-alive
        # socket is readable, and a new client sends at once): read it now, not a turn later.
        if self._read(conn):
            return
        self._reading.add(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
        if conn.started is None:
            self._set_deadline(conn, time.monotonic() + self.limits.first_byte)
        else:
            self._set_deadline(conn, conn.started + self.limits.header)

    def _on_readable(self, conn: _Conn, sock: Any) -> None:
        self._read(conn)

    def _read(self, conn: _Conn) -> bool:
        """Read what the client sent, if anything; whether the loop is done with ``conn``."""
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            data = b""
        if not data:  # the client went away
            self._forget(conn)
            self._close(conn)
            return True
        return self._take(conn, data)

    def _take(self, conn: _Conn, data: bytes) -> bool:
        """Add ``data`` to the head; hand the connection on (or refuse it) once the head is
        complete (or too large). Whether the loop is done with the connection."""
        assert conn.scanner is not None
        first = conn.started is None
        started = conn.started = time.monotonic() if conn.started is None else conn.started
        try:
            end = conn.scanner.feed(data)
        except HeadTooLarge as e:
            self._forget(conn)
            self.log.warning("Invalid request from ip=%s: %s", _ip(conn.client), e)
            with contextlib.suppress(OSError):
                conn.sock.send(e.response())  # small: the socket's buffer takes it whole
            self.nr_conns -= 1
            self.linger(conn.sock)
            return True
        conn.head += data
        if end < 0:
            if first and conn in self._reading:  # else enqueue_req sets it, as it registers
                self._set_deadline(conn, started + self.limits.header)
            return False
        self._forget(conn)
        conn.head_ready = conn.data_ready = True
        self.enqueue_req(conn)
        return True

    def _set_deadline(self, conn: _Conn, deadline: float) -> None:
        conn.deadline = deadline
        heapq.heappush(self._timers, (deadline, next(self._order), conn))

    def _forget(self, conn: _Conn) -> None:
        if conn in self._reading:
            self._reading.discard(conn)
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(conn.sock)

    def _close(self, conn: _Conn) -> None:
        self.nr_conns -= 1
        conn.close()

    def linger(self, sock: socket.socket) -> None:
        """Close ``sock`` gracefully without blocking the loop: send FIN, then read and drop
        what the client still sends, until it closes or `_LINGER` seconds have passed."""
        try:
            sock.setblocking(False)
            sock.shutdown(socket.SHUT_WR)
            self.poller.register(sock, selectors.EVENT_READ, self._on_lingering)
        except (OSError, ValueError, KeyError):
            with contextlib.suppress(OSError):
                sock.close()
            return
        self._lingering.add(sock)
        heapq.heappush(self._timers, (time.monotonic() + _LINGER, next(self._order), sock))

    def _on_lingering(self, sock: socket.socket) -> None:
        try:
            if sock.recv(65536):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._end_linger(sock)

    def _end_linger(self, sock: socket.socket) -> None:
        if sock in self._lingering:
            self._lingering.discard(sock)
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(sock)
            sock.close()

    def murder_pending(self) -> None:
        """Close what is past its time (gthread calls this after each turn of its loop)."""
        super().murder_pending()
        now = time.monotonic()
        if not self.alive and not self._stop_capped:
            # Stopping: a connection that has sent nothing gets what a kept-alive one gets.
            self._stop_capped = True
            for conn in self._reading:
                if conn.started is None and conn.deadline > now + STOP_KEEPALIVE_LINGER:
                    self._set_deadline(conn, now + STOP_KEEPALIVE_LINGER)
        if self.alive and self.nr_conns >= self.worker_connections:
            self._make_room(max(1, self.worker_connections // 16))
        while self._timers and self._timers[0][0] <= now:
            deadline, _, item = heapq.heappop(self._timers)
            if isinstance(item, _Conn):
                if item in self._reading and item.deadline == deadline:
                    self._forget(item)
                    self._close(item)
            else:
                self._end_linger(item)

    def _make_room(self, count: int) -> None:
        """At the connection limit, close ``count`` connections that are waiting for a request:
        those that never sent a byte first, then the kept-alive ones idle the longest, as nginx
        does when it runs out of connections (else they keep new clients out until their
        timeout)."""
        silent = sorted((c for c in self._reading if c.started is None), key=lambda c: c.deadline)
        for conn in silent[:count]:
            self._forget(conn)
            self._close(conn)
        for _ in range(count - len(silent[:count])):
            if not self.keepalived_conns:
                break
            conn = self.keepalived_conns.popleft()
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(conn.sock)
            self._close(conn)


def _ip(client: Any) -> str:
    return str(client[0]) if isinstance(client, tuple) and client else "-"
