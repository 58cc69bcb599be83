"""granian against hostile clients: HTTP/2 only when asked, the header and idle time limits,
the header size limits, bodies over the limit or cut short, spoofed proxy headers."""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from conftest import FLASKD, InFlight, free_port, run

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("granian") is None, reason="granian is not installed"
)

#: How long a test waits for the server to close a connection: far above the 1 s limits
#: the tests set, far below the 30 s defaults the server would otherwise apply.
PATIENCE = 12


def serve(spawn, *args: str, server: str = "granian"):
    """flaskd serving proxy_app.py (``/`` and ``POST /echo``) on a free port, once it answers."""
    port = free_port()
    proc = spawn([*FLASKD, "run", "proxy_app.py", "--server", server, "--port", str(port), *args])
    proc.wait_http(f"http://127.0.0.1:{port}/")
    return proc, port


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(PATIENCE)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a timeout fails)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_http2_off_by_default(spawn) -> None:
    """Without --http2, the HTTP/2 preface is refused as a bad HTTP/1.1 request and the
    connection closed; no HTTP/2 server answers (its first frame is SETTINGS)."""
    _, port = serve(spawn)
    with connect(port) as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        answer = read_until_closed(sock)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer


@pytest.mark.skipif(shutil.which("nghttp") is None, reason="needs nghttp (nghttp2-client)")
def test_http2_body_over_the_limit_is_refused(spawn, tmp_path: Path) -> None:
    """With --http2, a body without Content-Length over --max-request-body gets 413 (HTTP/2
    has no Transfer-Encoding, the only sign flaskd looked for); one under it is read."""
    _, port = serve(spawn, "--http2", "--max-request-body", "1k")
    body = tmp_path / "body"

    def post(size: int, *verbose: str) -> str:
        body.write_bytes(b"x" * size)
        url = f"http://127.0.0.1:{port}/echo"
        args = ["nghttp", *verbose, "--no-content-length", "-d", str(body), url]
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout

    assert ":status: 413" in post(64 * 1024, "-v")
    assert post(1000) == "1000"  # the length the app read


def test_silent_connection_closed(spawn) -> None:
    """A connection that sends nothing is closed (it counted against --max-connections for
    ever)."""
    _, port = serve(spawn, "--idle-timeout", "1")
    with connect(port) as sock:
        assert read_until_closed(sock) == b""


def test_partial_headers_closed_at_the_header_timeout(spawn) -> None:
    """A request whose headers never end is closed at --header-timeout, not at the (longer)
    idle timeout."""
    _, port = serve(spawn, "--header-timeout", "1", "--idle-timeout", "60")
    with connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert read_until_closed(sock) == b""


def test_idle_timeout_zero_closes_after_the_response(spawn) -> None:
    """--idle-timeout 0 closes a connection after its response, and gives the headers the
    header time limit (it was a 1 ms deadline: headers in two packets were dropped)."""
    _, port = serve(spawn, "--idle-timeout", "0")
    with connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n")
        pause(sock)
        sock.sendall(b"Host: x\r\n\r\n")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.count(b"HTTP/1.1 ") == 1


def pause(sock: socket.socket) -> None:
    """Wait 50 ms, or less if the server closes first (then the next send fails the test)."""
    sock.settimeout(0.05)
    try:
        assert sock.recv(1) != b"", "the server closed the connection before the headers ended"
    except TimeoutError:
        pass
    finally:
        sock.settimeout(PATIENCE)


@pytest.mark.parametrize("server", ["waitress", "gunicorn", "granian"])
def test_body_cut_short_is_an_error(spawn, server: str) -> None:
    """A body shorter than its Content-Length (the client stops sending) is an error in the
    app (werkzeug's ClientDisconnected, 400), not a short body."""
    if importlib.util.find_spec(server) is None:
        pytest.skip(f"{server} is not installed")
    _, port = serve(spawn, server=server)
    with connect(port) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 50)
        sock.shutdown(socket.SHUT_WR)
        answer = read_until_closed(sock)
    assert not answer.startswith(b"HTTP/1.1 200 "), answer


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 200 + b"\r\n\r\n", b"431"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\nX-B: 2\r\nX-C: 3\r\n\r\n", b"431"),
    ],
    ids=["request line", "field size", "field count"],
)
def test_header_limits(spawn, request_head: bytes, status: bytes) -> None:
    """--max-request-line, --max-header-size and --max-header-fields are honoured: 414 and
    431 as gunicorn answers (granian applied only hyper's own, larger limits)."""
    limits = ["--max-request-line", "100", "--max-header-size", "100"]
    _, port = serve(spawn, *limits, "--max-header-fields", "3")
    with connect(port) as sock:
        sock.sendall(request_head)
        assert sock.recv(100).startswith(b"HTTP/1.1 " + status + b" ")
    with connect(port) as sock:  # under the limits
        sock.sendall(b"GET /" + b"a" * 50 + b" HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 404 ")


def test_more_header_fields_than_hyper_takes_is_refused() -> None:
    """--max-header-fields above hyper's 100 is one line naming the setting, exit 2: granian
    would refuse such requests anyway."""
    result = run(
        [*FLASKD, "run", "proxy_app.py", "--server", "granian", "--max-header-fields", "200"]
    )
    assert result.returncode == 2
    assert "max_header_fields" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_trusted_proxy_warns_of_underscore_headers(spawn) -> None:
    """granian cannot tell X_Forwarded_For from X-Forwarded-For: with trusted proxies flaskd
    says so at start, naming what the proxy must do."""
    proc, _ = serve(spawn, "--forwarded-allow-ips", "127.0.0.1")
    assert "underscore" in proc.output


def test_body_timeout_is_refused() -> None:
    """--body-timeout on granian is one line saying it cannot honour it, exit 2: granian
    waits for a body without a time limit (16 stalled uploads took the service down)."""
    result = run([*FLASKD, "run", "proxy_app.py", "--server", "granian", "--body-timeout", "5"])
    assert result.returncode == 2
    assert "granian cannot honour body_timeout" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_making_room_closes_only_silent_connections(spawn, tmp_path: Path) -> None:
    """At the connection limit, the connections that never sent a byte are closed to let a
    new client in; a connection whose request is running (its client silent meanwhile) is
    not, and gets its answer."""
    port = free_port()
    args = ["--server", "granian", "--port", str(port), "--workers", "1"]
    args += ["--max-connections", "4", "--idle-timeout", "120", "--header-timeout", "120"]
    env = {"HOOKS_LOG": str(tmp_path / "hooks.log")}
    proc = spawn([*FLASKD, "run", "hooks.py", *args], env=env)
    proc.wait_http(f"http://127.0.0.1:{port}/")
    held = InFlight(f"http://127.0.0.1:{port}/slow", hold=True)
    silent = [connect(port) for _ in range(8)]  # 3 fill the limit, 5 wait to be accepted
    try:
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=PATIENCE).text == "ok"
        assert read_until_closed(silent[0]) == b""
        held.release()
        answer = held.result()
        assert isinstance(answer, requests.Response), answer
        assert answer.status_code == 200
    finally:
        for sock in silent:
            sock.close()
