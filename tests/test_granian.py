"""The granian backend, in real processes: hooks per worker, signals, readiness, addresses."""

from __future__ import annotations

import signal
import socket
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import FLASKD, free_port, unix_get

pytest.importorskip("granian")

from flaskd.servers.granian import SmallBodies  # after the skip: it imports granian

GRANIAN = ["--server", "granian"]


def wait_ready(proc) -> None:
    """Wait until flaskd logs that it serves: every worker has run its hooks."""
    deadline = time.monotonic() + 20
    while "serving on" not in proc.output:
        assert proc.popen.poll() is None, proc.output
        assert time.monotonic() < deadline, proc.output
        time.sleep(0.05)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_serves_the_app_and_stops_with_exit_0(spawn) -> None:
    """flaskd run opts.py --server granian serves the configured app and exits 0 on SIGTERM."""
    port = free_port()
    proc = spawn([*FLASKD, "run", "opts.py", *GRANIAN, "--port", str(port)])
    response = proc.wait_http(f"http://127.0.0.1:{port}/config")
    assert response.status_code == 200
    assert response.json()["LEVEL"] == "set-by-app"
    assert requests.get(f"http://127.0.0.1:{port}/runs", timeout=5).json() == 1
    assert proc.stop() == 0
    assert f"serving on http://127.0.0.1:{port} with granian" in proc.output


def test_hooks_run_in_each_worker(spawn, tmp_path: Path) -> None:
    """With --workers 2 the start-up and shutdown hooks run once in each worker process."""
    log = tmp_path / "hooks.log"
    port = free_port()
    proc = spawn(
        [*FLASKD, "run", "granian_env.py", *GRANIAN, "--port", str(port), "--workers", "2"],
        env={"GRANIAN_ENV_LOG": str(log)},
    )
    proc.wait_http(f"http://127.0.0.1:{port}/pid")
    wait_ready(proc)
    started = [line.split()[1] for line in lines(log) if line.startswith("startup")]
    assert len(started) == 2
    assert len(set(started)) == 2
    assert str(proc.popen.pid) not in started
    assert proc.stop() == 0
    stopped = [line.split()[1] for line in lines(log) if line.startswith("shutdown")]
    assert sorted(stopped) == sorted(started)


def test_preload_runs_hooks_once_in_the_main_process(spawn, tmp_path: Path) -> None:
    """With --preload the hooks run once, in the main process, however many workers serve."""
    log = tmp_path / "hooks.log"
    port = free_port()
    args = [*FLASKD, "run", "granian_env.py", *GRANIAN, "--port", str(port)]
    proc = spawn([*args, "--workers", "2", "--preload"], env={"GRANIAN_ENV_LOG": str(log)})
    proc.wait_http(f"http://127.0.0.1:{port}/pid")
    assert proc.stop() == 0
    main = proc.popen.pid
    assert lines(log) == [f"startup {main}", f"shutdown {main}"]


@pytest.mark.parametrize("extra", [[], ["--workers", "2"], ["--preload"]])
def test_failing_startup_hook_exits_3(spawn, extra: list[str]) -> None:
    """A start-up hook that raises, in a worker or preloaded, exits 3 with the one-line message."""
    port = free_port()
    proc = spawn([*FLASKD, "run", "bad_hook.py", *GRANIAN, "--port", str(port), *extra])
    assert proc.wait() == 3
    assert "start-up hook bad_hook:connect failed: ConnectionError: database at" in proc.output
    assert "Traceback" not in proc.output


def test_ready_once_serving_then_stopping(spawn, tmp_path: Path) -> None:
    """READY=1 reaches NOTIFY_SOCKET only once the hooks ran and the port answers; STOPPING=1
    follows SIGTERM."""
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(address)
        notify.settimeout(20)
        port = free_port()
        started = time.monotonic()
        proc = spawn(
            [*FLASKD, "run", "opts.py", *GRANIAN, "--port", str(port), "--workers", "2"],
            env={"NOTIFY_SOCKET": address, "OPTS_HOOK_DELAY": "1"},
        )
        message = notify.recv(4096).decode()
        assert "READY=1" in message.splitlines()
        assert time.monotonic() - started >= 1  # not before the hooks ran
        assert f"MAINPID={proc.popen.pid}" in message.splitlines()
        assert requests.get(f"http://127.0.0.1:{port}/runs", timeout=5).json() == 1
        proc.signal(signal.SIGTERM)
        assert "STOPPING=1" in notify.recv(4096).decode().splitlines()
        assert proc.wait() == 0


def test_serves_ipv6(spawn) -> None:
    """--bind [::1]:PORT serves over IPv6."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    with socket.socket(socket.AF_INET6) as s:
        try:
            s.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback")
        port = s.getsockname()[1]
    proc = spawn([*FLASKD, "run", "opts.py", *GRANIAN, "--bind", f"[::1]:{port}"])
    response = proc.wait_http(f"http://[::1]:{port}/runs")
    assert response.json() == 1
    assert proc.stop() == 0


def test_serves_unix_socket(spawn, tmp_path: Path) -> None:
    """--bind unix:PATH serves there, and the socket file is gone after the stop."""
    path = tmp_path / "app.sock"
    proc = spawn([*FLASKD, "run", "granian_env.py", *GRANIAN, "--bind", f"unix:{path}"])
    answer = unix_get(path, b"GET /environ HTTP/1.0\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 200")
    assert b'"REMOTE_ADDR":""' in answer
    assert proc.stop() == 0
    assert not path.exists()


def test_environ_has_no_process_environment(spawn) -> None:
    """granian's environ does not start from the process environment (which the app still
    reads through os.environ); real headers are kept."""
    port = free_port()
    proc = spawn(
        [*FLASKD, "run", "granian_env.py", *GRANIAN, "--port", str(port)],
        env={"SOME_SECRET": "x", "HTTP_PROXY": "http://proxy.invalid", "CONTENT_LENGTH": "99"},
    )
    environ = proc.wait_http(f"http://127.0.0.1:{port}/environ").json()
    for key in ("SOME_SECRET", "PATH", "HTTP_PROXY", "CONTENT_LENGTH"):
        assert key not in environ
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["SERVER_SOFTWARE"] == "Granian"
    posted = requests.post(
        f"http://127.0.0.1:{port}/environ",
        data=b"abc",
        headers={"Proxy": "from-client"},
        timeout=5,
    ).json()
    assert (posted["HTTP_PROXY"], posted["CONTENT_LENGTH"]) == ("from-client", "3")
    assert "SOME_SECRET" not in posted
    assert requests.get(f"http://127.0.0.1:{port}/getenv/SOME_SECRET", timeout=5).json() == "x"
    assert proc.stop() == 0


def test_more_than_one_address_is_refused(spawn) -> None:
    """granian serves one address: two --bind values exit 2 with a one-line message."""
    ports = free_port(), free_port()
    binds = [f"--bind=127.0.0.1:{p}" for p in ports]
    proc = spawn([*FLASKD, "run", "opts.py", *GRANIAN, *binds])
    assert proc.wait() == 2
    assert "granian serves one address only, not 2" in proc.output
    assert "Traceback" not in proc.output


def test_small_bodies_are_joined_large_and_unsized_ones_stream() -> None:
    """granian gets a short response of known length as one list (which it writes from Rust
    in one go), closed after joining; a long or unsized one is passed on as it is."""
    closed: list[str] = []

    class Body:
        def __init__(self, name: str, chunks: list[bytes]) -> None:
            self.name, self.chunks = name, chunks

        def __iter__(self):
            return iter(self.chunks)

        def close(self) -> None:
            closed.append(self.name)

    def app(environ, start_response):
        size = {"/small": 10, "/large": 100_000}.get(environ["PATH_INFO"])
        headers = [("Content-Length", str(size))] if size else []
        start_response("200 OK", headers)
        chunk = b"x" * (size or 10)
        return Body(environ["PATH_INFO"], [chunk[: len(chunk) // 2], chunk[len(chunk) // 2 :]])

    wrapped = SmallBodies(app)
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    assert wrapped({"PATH_INFO": "/small"}, start_response) == [b"x" * 10]
    assert closed == ["/small"]
    for path in ("/large", "/unsized"):
        body = wrapped({"PATH_INFO": path}, start_response)
        assert isinstance(body, Body)
        assert body.name == path
    assert closed == ["/small"]
    assert statuses == ["200 OK"] * 3


def test_workers_are_forked_whatever_the_default_start_method(spawn) -> None:
    """The workers inherit flaskd's pipes and the loaded app, so they are forked even where
    Python's default start method is another: forkserver here, as on Linux from Python
    3.14, which granian turns into spawn (it failed to pickle the app)."""
    port = free_port()
    code = (
        "import multiprocessing, sys\n"
        "multiprocessing.set_start_method('forkserver')\n"
        "from flaskd.cli import cli\n"
        f"cli(['run', 'opts.py', '--server', 'granian', '--workers', '2', '--port', '{port}'])\n"
    )
    proc = spawn([sys.executable, "-c", code])
    assert proc.wait_http(f"http://127.0.0.1:{port}/config").status_code == 200
    assert proc.stop() == 0
    assert "Traceback" not in proc.output
