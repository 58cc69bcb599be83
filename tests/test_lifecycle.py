"""Start-up and shutdown hooks, in real server processes."""

from __future__ import annotations

import concurrent.futures
import signal
from pathlib import Path

import flask
import pytest
import requests

from conftest import BIN, FLASKD, PY, free_port
from flaskd import Service, StartupError


def first_requests(url: str, count: int = 16) -> list[requests.Response]:
    """Send ``count`` requests at the same moment, from as many threads."""
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: requests.get(url, timeout=30), range(count)))


def wait_listening(proc, port: int) -> None:
    """Wait until the port accepts connections, without sending an HTTP request."""
    import socket
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.popen.poll() is None, proc.output
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"port {port} never listened:\n{proc.output}")


SERVED_LAZILY = {
    "waitress-serve, Service as app": [
        str(BIN / "waitress-serve"),
        "--threads",
        "16",
        "--listen",
        "127.0.0.1:{port}",
        "opts:service",
    ],
    "waitress-serve, bare app": [
        str(BIN / "waitress-serve"),
        "--threads",
        "16",
        "--listen",
        "127.0.0.1:{port}",
        "opts:app",
    ],
    "gunicorn gthread, Service as app": [
        str(BIN / "gunicorn"),
        "-k",
        "gthread",
        "--threads",
        "16",
        "-b",
        "127.0.0.1:{port}",
        "opts:service",
    ],
}


@pytest.mark.parametrize("command", SERVED_LAZILY.values(), ids=SERVED_LAZILY.keys())
def test_startup_hooks_run_once_under_16_concurrent_first_requests(spawn, command) -> None:
    """16 threads making the first request at once run the start-up hooks exactly once."""
    port = free_port()
    args = [part.format(port=port) for part in command]
    proc = spawn(args, env={"OPTS_HOOK_DELAY": "0.5"})
    wait_listening(proc, port)
    responses = first_requests(f"http://127.0.0.1:{port}/runs")
    assert [r.status_code for r in responses] == [200] * 16
    assert {r.json() for r in responses} == {1}


def test_startup_hooks_run_once_in_process_threads() -> None:
    """Service.start called by 16 threads at once runs the hook once and all see it done."""
    app = flask.Flask("threads")
    service = Service(app, env_prefix="THREADS_")
    runs = []

    @service.on_startup
    def slow(app):
        import time

        time.sleep(0.2)
        runs.append(1)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        apps = list(pool.map(lambda _: service.start(), range(16)))
    assert runs == [1]
    assert all(a is app for a in apps)


def test_hooks_order_and_shutdown_in_reverse(spawn, tmp_path: Path) -> None:
    """Start-up hooks run in order before the first request; shutdown hooks in reverse on
    SIGTERM, a failing one logged while the others still run; the process exits 0."""
    log = tmp_path / "hooks.log"
    port = free_port()
    proc = spawn([*FLASKD, "run", "hooks.py", "--port", str(port)], env={"HOOKS_LOG": str(log)})
    assert proc.wait_http(f"http://127.0.0.1:{port}/").text == "ok"
    assert proc.stop() == 0
    assert log.read_text().splitlines() == [
        "startup first",
        "startup second",
        "request",
        "shutdown second",
        "shutdown first",
    ]
    assert "shutdown hook hooks:broken failed" in proc.output
    assert "RuntimeError: cannot flush" in proc.output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_standalone_stops_gracefully_on_signal(spawn, tmp_path: Path, signum: int) -> None:
    """A script run with service.main() runs its shutdown hooks on SIGTERM and SIGINT, exit 0."""
    log = tmp_path / "hooks.log"
    port = free_port()
    proc = spawn([PY, "hooks.py", "--log", str(log), "--port", str(port)])
    proc.wait_http(f"http://127.0.0.1:{port}/")
    proc.signal(signum)
    assert proc.wait() == 0
    assert log.read_text().splitlines()[-2:] == ["shutdown second", "shutdown first"]


def test_failing_startup_hook_exits_3_before_serving(spawn) -> None:
    """A script whose start-up hook raises exits with code 3, naming the hook and the error
    (under `flaskd run`: tests/test_serving.py, on every backend)."""
    proc = spawn([PY, "bad_hook.py", "--port", str(free_port())])
    assert proc.wait() == 3
    assert "start-up hook bad_hook:connect failed: ConnectionError: database at" in proc.output
    assert "Traceback" not in proc.output


def test_failing_startup_hook_in_factory_raises() -> None:
    """create_app raises StartupError when a hook fails, and again on a second call."""
    app = flask.Flask("fails")
    service = Service(app, env_prefix="FAILS_")
    calls = []

    @service.on_startup
    def boom(app):
        calls.append(1)
        raise OSError("disk full")

    for _ in range(2):
        with pytest.raises(StartupError, match="boom failed: OSError: disk full"):
            service.create_app()
    assert calls == [1]


def test_hook_signature_is_checked_when_registered() -> None:
    """A hook that cannot take the app is refused where it is declared."""
    service = Service(flask.Flask("sig"), env_prefix="SIG_")
    with pytest.raises(TypeError, match="must take one argument, the app"):
        service.on_startup(lambda: None)  # type: ignore[arg-type,misc]
