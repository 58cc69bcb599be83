"""Making room at granian's connection limit, in each worker: close its silent connections.

granian takes a slot before it accepts a connection and gives it back only when the
connection ends, so at ``--max-connections`` connections that send nothing keep every new
client in the listen queue until hyper's head clock closes them. flaskd cannot reach
granian's connections from Python, but the kernel can: a thread of each worker,
looks at the listening socket's accept queue every `TICK`; when clients waited there a whole
tick and this worker holds ``max_connections`` connections, it shuts down (``shutdown(2)``
on a duplicate of the descriptor) as many of those that never sent a byte as there are
clients waiting, and at least the sixteenth of the limit that waitress and gunicorn close at
each turn of their loops, the oldest first: one tick, not one tick per client, lets a queue
of clients in. hyper reads the end of the connection and drops it, which frees its slot.
Linux only (``TCP_INFO``); TCP addresses only.

A kept-alive connection waiting for its next request is not closed: it cannot be told from
one whose request is running (granian gives the app no client port to match), so those wait
for the head clock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import struct
import threading

log = logging.getLogger("flaskd")

#: How often the accept queue is looked at; room is made after clients waited a whole tick.
TICK = 0.2

# struct tcp_info (linux/tcp.h): state is byte 0; for a listening socket tcpi_unacked is
# its accept queue; tcpi_last_data_recv (ms) and tcpi_bytes_received (Linux 4.1).
_ESTABLISHED = 1
_U32 = struct.Struct("=I")
_UNACKED_AT = 24
_LAST_RECV_AT = 52
_U64 = struct.Struct("=Q")
_BYTES_RECEIVED_AT = 128
_INFO_SIZE = _BYTES_RECEIVED_AT + _U64.size


def _tcp_info(sock: socket.socket) -> bytes:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _INFO_SIZE)


def waiting(listener: socket.socket) -> int:
    """How many connections the kernel accepted that no worker took yet."""
    return int(_U32.unpack_from(_tcp_info(listener), _UNACKED_AT)[0])


def _state(sock: socket.socket, port: int) -> int | None:
    """None unless ``sock`` is a connection to ``port``; -1 if it sent bytes, else the
    milliseconds since it opened."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    info = _tcp_info(sock)
    if info[0] != _ESTABLISHED or sock.getsockname()[1] != port:
        return None
    if len(info) < _INFO_SIZE or _U64.unpack_from(info, _BYTES_RECEIVED_AT)[0]:
        return -1
    return int(_U32.unpack_from(info, _LAST_RECV_AT)[0])


def _connection_state(fd: int, port: int) -> int | None:
    """`_state` of the socket at descriptor ``fd`` (None for anything else, or if it closed)."""
    try:
        if not os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
            return None
        with socket.socket(fileno=os.dup(fd)) as sock:
            return _state(sock, port)
    except OSError:
        return None


def make_room(port: int, limit: int, queued: int = 0) -> int:
    """At ``limit`` connections to ``port``, shut down the oldest of those that never sent a
    byte (in a tick at least): one for each of the ``queued`` clients, and at least a
    sixteenth of ``limit``; how many."""
    states = {int(fd): _connection_state(int(fd), port) for fd in os.listdir("/proc/self/fd")}
    if sum(age is not None for age in states.values()) < limit:
        return 0
    # Silent for a whole tick at least: a client that connected a moment ago may be sending.
    silent = [(age, fd) for fd, age in states.items() if age is not None and age >= TICK * 1000]
    # The oldest first; the kernel's clock counts milliseconds, so ties go to the lowest number.
    silent.sort(key=lambda s: (-s[0], s[1]))
    closed = 0
    for _, fd in silent[: max(1, limit // 16, queued)]:
        with contextlib.suppress(OSError), socket.socket(fileno=os.dup(fd)) as sock:
            state = _state(sock, port)  # again: the number may have been reused meanwhile
            if state is not None and state >= 0:
                sock.shutdown(socket.SHUT_RDWR)
                closed += 1
    return closed


def start(listener: socket.socket, limit: int, stopping: threading.Event) -> bool:
    """Make room for ``listener`` in a thread of this worker until ``stopping`` is set; False
    where it cannot (a unix socket, not Linux)."""
    if listener.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    if not hasattr(socket, "TCP_INFO") or not os.path.isdir("/proc/self/fd"):
        return False
    # A descriptor of its own, as granian closes the worker's when the worker stops (not
    # listener.dup(), which makes the listening socket blocking under granian); closed as
    # the stop begins, so that the port closes with the server's.
    own = socket.socket(fileno=os.dup(listener.fileno()))
    watch = threading.Thread(target=_watch, args=(own, limit, stopping), name="flaskd-room")
    watch.daemon = True
    watch.start()
    return True


def _watch(listener: socket.socket, limit: int, stopping: threading.Event) -> None:
    port = int(listener.getsockname()[1])
    queued = 0
    with listener:
        while not stopping.wait(TICK):
            try:
                was_queued, queued = queued, waiting(listener)
                if was_queued and queued:
                    make_room(port, limit, queued)
            except Exception:  # a bug must not end the thread silently
                log.exception("cannot make room at the connection limit")
                return
