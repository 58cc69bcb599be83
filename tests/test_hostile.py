"""Hostile clients, the same on every backend: limits on a request's head, a time limit on
the head that trickled bytes cannot reset, a body inactivity limit, slow clients that hold no
thread, ambiguous framing refused, SIGHUP on waitress."""

from __future__ import annotations

import importlib.util
import re
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from conftest import FLASKD, free_port, run, wait_for

BACKENDS = ["waitress", "gunicorn", "granian"]

#: What granian cannot do, said in the README ("granian: HTTP/2 and slow clients"); strict, so
#: that a granian that learns it turns these red.
GRANIAN_NO_BODY_TIMEOUT = pytest.mark.xfail(
    strict=True, reason="granian has no body time limit: it refuses --body-timeout"
)
GRANIAN_HEAD_BUFFER = pytest.mark.xfail(
    strict=True,
    reason="hyper refuses an unfinished head only once its buffer (8192 bytes at least) is full"
    " or at the head clock, not at the first field over the limit",
)


def backends(*granian_marks: pytest.MarkDecorator) -> list[object]:
    return ["waitress", "gunicorn", pytest.param("granian", marks=granian_marks)]


@pytest.fixture
def serve(spawn):
    """Start hostile_app.py on a backend with extra flags; the base URL once it answers."""

    def start(backend: str, *args: str) -> str:
        if importlib.util.find_spec(backend) is None:
            pytest.skip(f"{backend} is not installed")
        port = free_port()
        proc = spawn(
            [*FLASKD, "run", "hostile_app.py", "--server", backend, "--port", str(port), *args]
        )
        proc.wait_http(f"http://127.0.0.1:{port}/")
        return f"127.0.0.1:{port}"

    return start


def connect(address: str) -> socket.socket:
    host, port = address.split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def exchange(address: str, data: bytes) -> tuple[bytes, bool]:
    """Send ``data`` on a new connection; what comes back, and whether the server closed it."""
    with connect(address) as s:
        s.settimeout(5)
        s.sendall(data)
        answer = b""
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except TimeoutError:
            return answer, False
        return answer, True


def read_by_server(client: socket.socket) -> bool:
    """Whether the server has read all that ``client`` sent: its end of the connection has
    an empty receive queue (/proc/net/tcp*, where the kernel lists both ends)."""
    ours, theirs = client.getsockname()[1], client.getpeername()[1]
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = (int(f.rpartition(":")[2], 16) for f in fields[1:3])
            if (local, remote) == (theirs, ours):
                return int(fields[4].partition(":")[2], 16) == 0
    return False


def closed_by_server(s: socket.socket) -> bool:
    """Wait (30 s at most) until the server closes ``s``; whether it did."""
    s.settimeout(30)
    try:
        while s.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


@pytest.fixture
def partial_heads() -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    yield sockets
    for s in sockets:
        s.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_partial_heads_hold_no_thread_and_are_closed(serve, backend, partial_heads) -> None:
    """Connections that send half a head (more than there are threads) do not stop a normal
    request being answered, and are closed at the header time limit, not the idle timeout."""
    address = serve(backend, "--threads", "2", "--header-timeout", "1", "--idle-timeout", "120")
    for _ in range(4):
        s = connect(address)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        partial_heads.append(s)
    wait_for(lambda: all(map(read_by_server, partial_heads)), "the server read the heads")
    assert requests.get(f"http://{address}/", timeout=20).text == "ok"
    assert all(closed_by_server(s) for s in partial_heads)


@pytest.mark.parametrize("backend", BACKENDS)
def test_trickled_head_is_closed_at_the_header_time_limit(serve, backend) -> None:
    """A head sent one byte at a time is cut at the header time limit from its first byte:
    each byte does not restart the clock."""
    address = serve(backend, "--header-timeout", "1", "--idle-timeout", "120")
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    with connect(address) as s:
        sent = 0
        try:
            for byte in head:
                s.sendall(bytes([byte]))
                sent += 1
                time.sleep(0.1)
                s.setblocking(False)
                try:
                    if s.recv(1) == b"":
                        break
                except BlockingIOError:
                    pass
                finally:
                    s.setblocking(True)
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert sent < len(head), "the server waited for the whole trickled head"


#: Requests against --max-request-line 100 --max-header-fields 5 --max-header-size 50.
HEADS = {
    "request line": (b"GET /" + b"a" * 100 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "field count": (
        b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(6)) + b"\r\n",
        431,
    ),
    "field size": (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 60 + b"\r\n\r\n", 431),
    "unfinished field": (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 200, 431),
    "at the limits": (
        b"GET /"
        + b"a" * 86
        + b" HTTP/1.0\r\n"
        + b"".join(b"X-%d: y\r\n" % i for i in range(4))
        + b"Host: "
        + b"x" * 44
        + b"\r\n\r\n",
        404,
    ),
}


#: The limits `HEADS` are written against.
HEAD_LIMITS = ("--max-request-line", "100", "--max-header-fields", "5", "--max-header-size", "50")


def answered(address: str, request_: bytes) -> tuple[bytes, bool]:
    """The status code the server answers ``request_`` with, and whether it then closed."""
    answer, closed = exchange(address, request_)
    return answer[len(b"HTTP/1.1 ") :][:3], closed


@pytest.mark.parametrize("backend", BACKENDS)
def test_head_limits(serve, backend: str) -> None:
    """The request line, the number of header fields and the size of one field each have a
    limit, with the same meaning on every backend: over it, 414 or 431 and the connection
    closes; at it, the request is served. (One server per backend, a connection per head;
    granian's unfinished field is the test below.)"""
    address = serve(backend, *HEAD_LIMITS)
    heads = {
        name: head
        for name, head in HEADS.items()
        if (backend, name) != ("granian", "unfinished field")
    }
    got = {name: answered(address, request_) for name, (request_, _) in heads.items()}
    assert got == {name: (str(status).encode(), True) for name, (_, status) in heads.items()}


@GRANIAN_HEAD_BUFFER
def test_granian_head_limits_an_unfinished_field(serve) -> None:
    """granian too refuses a head whose unfinished field is over the limit, and closes."""
    request_, status = HEADS["unfinished field"]
    assert answered(serve("granian", *HEAD_LIMITS), request_) == (str(status).encode(), True)


@pytest.mark.parametrize(
    ("backend", "request_"),
    [
        pytest.param(
            backend,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            id=f"{backend}-Content-Length and chunked",
        )
        for backend in BACKENDS
    ]
    + [
        pytest.param(
            backend,
            b"POST /echo HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            id=f"{backend}-chunked in HTTP/1.0",
        )
        for backend in BACKENDS
    ],
)
def test_ambiguous_framing_is_refused_and_closed(serve, backend: str, request_: bytes) -> None:
    """A request whose body has no reliable end gets 400 and the connection closes (RFC 9112
    6.3), so a request smuggled behind it is never answered."""
    address = serve(backend)
    answer, closed = exchange(address, request_ + b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
    if backend == "granian" and b"Content-Length" in request_:
        # hyper drops the Content-Length before the app sees the request (flaskd cannot
        # answer 400), frames the body by Transfer-Encoding, answers, and closes: RFC 9112
        # 6.3 allows that, and nothing smuggled behind it is answered either way.
        assert answer.startswith(b"HTTP/1.1 200 "), answer
    else:
        assert answer.startswith((b"HTTP/1.1 400 ", b"HTTP/1.0 400 ")), answer
    assert len(re.findall(rb"(?m)^HTTP/1\.[01] \d{3} ", answer)) == 1, answer
    assert closed


@pytest.mark.parametrize("backend", backends(GRANIAN_NO_BODY_TIMEOUT))
def test_stalled_body_frees_its_thread_and_is_dropped(serve, backend: str) -> None:
    """A body that stops coming is dropped after the body timeout: with one thread, the next
    client is served, and the stalled connection is closed (not left to the idle timeout)."""
    address = serve(backend, "--threads", "1", "--body-timeout", "1", "--idle-timeout", "120")
    with connect(address) as stalled:
        stalled.sendall(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"a" * 10
        )
        wait_for(lambda: read_by_server(stalled), "the app reading the body")
        assert requests.get(f"http://{address}/", timeout=20).text == "ok"
        assert closed_by_server(stalled)


@pytest.mark.parametrize("backend", BACKENDS)
def test_silent_connections_at_the_limit_make_room(serve, backend, partial_heads) -> None:
    """When silent connections fill every connection slot, the one idle the longest is closed
    to let a new client in, instead of everyone waiting for the idle timeout."""
    address = serve(backend, "--max-connections", "10", "--idle-timeout", "120")
    for _ in range(30):
        partial_heads.append(connect(address))  # they send nothing
    assert requests.get(f"http://{address}/", timeout=20).text == "ok"
    assert closed_by_server(partial_heads[0])


@pytest.mark.parametrize("backend", backends())
def test_pipelined_and_kept_alive_requests_are_served(serve, backend: str) -> None:
    """Two requests in one packet, then a third on the same kept-alive connection, each get
    their answer (the head is read ahead of the threads on gunicorn)."""
    address = serve(backend)
    with connect(address) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.1)
        s.sendall(b"Content-Length: 3\r\n\r\nabc")
        answers = b""
        while answers.count(b"HTTP/1.1 200") < 2:
            answers += s.recv(65536)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while chunk := s.recv(65536):
            answers += chunk
    assert answers.count(b"HTTP/1.1 200") == 3, answers
    assert answers.endswith(b"ok"), answers


def test_sighup_on_waitress_is_logged_and_ignored(spawn, tmp_path) -> None:
    """SIGHUP does not kill waitress (it would skip the shutdown hooks): it is logged, the
    server goes on serving, and SIGTERM later stops it with its hooks."""
    port = free_port()
    log = tmp_path / "hooks.log"
    proc = spawn([*FLASKD, "run", "hooks.py", "--port", str(port)], env={"HOOKS_LOG": str(log)})
    proc.wait_http(f"http://127.0.0.1:{port}/")
    proc.signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while "SIGHUP ignored" not in proc.output and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "SIGHUP ignored" in proc.output
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).text == "ok"
    assert proc.stop() == 0
    assert "shutdown first" in log.read_text()


def test_gunicorn_refuses_a_request_line_limit_it_cannot_honour() -> None:
    """gunicorn's parser caps the request line at 8190 bytes: a larger limit is an error
    naming the setting, not silently lowered."""
    result = run([*FLASKD, "run", "plain.py", "--server", "gunicorn", "--max-request-line", "9000"])
    assert result.returncode == 2, result.stderr
    assert "gunicorn cannot honour max_request_line above 8190" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
