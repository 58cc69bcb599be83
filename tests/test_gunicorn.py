"""The gunicorn backend: real processes, real HTTP, real signals."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import pytest
import requests

from conftest import FLASKD, InFlight, free_port, unix_get

pytest.importorskip("gunicorn")


def gunicorn(spawn, app: str, *args: str, env: dict[str, str] | None = None):
    return spawn([*FLASKD, "run", app, "--server", "gunicorn", *args], env=env)


def test_hooks_run_once_in_each_worker(spawn) -> None:
    """opts.py under 2 workers: /runs answers 1 from every process (hooks ran once in each)."""
    port = free_port()
    proc = gunicorn(spawn, "opts.py", "--port", str(port), "--workers", "2")
    url = f"http://127.0.0.1:{port}/runs"
    assert proc.wait_http(url).json() == 1
    for _ in range(20):
        assert requests.get(url, headers={"Connection": "close"}, timeout=5).json() == 1
    assert proc.output.count("Booting worker") == 2
    assert proc.stop() == 0


def test_sighup_replaces_the_workers_cleanly(spawn) -> None:
    """SIGHUP boots new workers that serve; the stop after it is as clean as any (workers forked
    after READY used to close a file of gunicorn's by number and print tracebacks on exit)."""
    port = free_port()
    proc = gunicorn(spawn, "opts.py", "--port", str(port), "--workers", "2")
    url = f"http://127.0.0.1:{port}/runs"
    proc.wait_http(url)
    proc.signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while proc.output.count("Booting worker") < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.output.count("Booting worker") == 4
    assert requests.get(url, timeout=5).json() == 1  # a new worker ran its hooks once
    assert proc.stop() == 0
    assert "Traceback" not in proc.output
    assert "Exception during worker exit" not in proc.output


def test_preload_runs_hooks_once_in_master(spawn, tmp_path: Path) -> None:
    """--preload runs the start-up hooks once, in the master, before the workers fork."""
    log = tmp_path / "pids"
    port = free_port()
    proc = gunicorn(
        spawn,
        "gunicorn_pid.py",
        "--port",
        str(port),
        "--workers",
        "2",
        "--preload",
        env={"GPID_FILE": str(log)},
    )
    served_by = {proc.wait_http(f"http://127.0.0.1:{port}/").json()["pid"]}
    for _ in range(20):
        r = requests.get(f"http://127.0.0.1:{port}/", headers={"Connection": "close"}, timeout=5)
        served_by.add(r.json()["pid"])
    lines = log.read_text().splitlines()
    assert lines == [f"startup {proc.popen.pid}"]
    assert proc.popen.pid not in served_by
    assert proc.stop() == 0
    assert log.read_text().splitlines() == [
        f"startup {proc.popen.pid}",
        f"shutdown {proc.popen.pid}",
    ]


def test_without_preload_hooks_run_in_each_worker_not_master(spawn, tmp_path: Path) -> None:
    """Without --preload the hooks run in each of the 2 workers, never in the master."""
    log = tmp_path / "pids"
    port = free_port()
    proc = gunicorn(
        spawn, "gunicorn_pid.py", "--port", str(port), "--workers", "2", env={"GPID_FILE": str(log)}
    )
    proc.wait_http(f"http://127.0.0.1:{port}/")
    deadline = time.monotonic() + 20  # the port answers once the first worker is up
    while len(log.read_text().splitlines()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    starts = [line.split()[1] for line in log.read_text().splitlines()]
    assert len(starts) == 2
    assert len(set(starts)) == 2
    assert str(proc.popen.pid) not in starts
    assert proc.stop() == 0
    stops = [line.split()[1] for line in log.read_text().splitlines() if "shutdown" in line]
    assert sorted(stops) == sorted(starts)


def test_in_flight_request_completes_on_sigterm(spawn, tmp_path: Path) -> None:
    """The 2-second request in flight at SIGTERM gets 200, shutdown hooks run, exit code 0."""
    log = tmp_path / "hooks.log"
    port = free_port()
    proc = gunicorn(
        spawn, "hooks.py", "--port", str(port), "--workers", "2", env={"HOOKS_LOG": str(log)}
    )
    proc.wait_http(f"http://127.0.0.1:{port}/")
    request = InFlight(f"http://127.0.0.1:{port}/slow")
    proc.signal(signal.SIGTERM)
    response = request.result()
    assert proc.wait() == 0
    assert isinstance(response, requests.Response)
    assert (response.status_code, response.text) == (200, "slow ok")
    lines = log.read_text().splitlines()
    assert lines.count("shutdown first") == 2  # once in each worker
    assert lines.count("startup first") == 2


def test_failing_startup_hook_exits_3(spawn) -> None:
    """A start-up hook failing in the workers makes the master exit 3 with the one-line error."""
    proc = gunicorn(spawn, "bad_hook.py", "--port", str(free_port()), "--workers", "2")
    assert proc.wait() == 3
    message = "start-up hook bad_hook:connect failed: ConnectionError: database at"
    assert proc.output.count(message) == 1
    assert "Traceback" not in proc.output


def test_failing_startup_hook_with_preload_exits_3(spawn) -> None:
    """With --preload a failing start-up hook exits 3 before any worker is forked."""
    proc = gunicorn(spawn, "bad_hook.py", "--port", str(free_port()), "--preload")
    assert proc.wait() == 3
    assert "start-up hook bad_hook:connect failed: ConnectionError" in proc.output
    assert "Booting worker" not in proc.output
    assert "Traceback" not in proc.output


def test_ready_after_port_answers_and_stopping(spawn, tmp_path: Path) -> None:
    """READY=1 comes once from the main process after the hooks ran; STOPPING=1 on SIGTERM."""
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(30)
    port = free_port()
    env = {
        "HOOKS_LOG": str(tmp_path / "hooks.log"),
        "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
    }
    proc = gunicorn(spawn, "hooks.py", "--port", str(port), "--workers", "2", env=env)
    message = notify.recv(4096).decode().splitlines()
    assert "READY=1" in message
    assert f"MAINPID={proc.popen.pid}" in message
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "ok"
    log = (tmp_path / "hooks.log").read_text().splitlines()
    assert log.count("startup second") == 2  # both workers had run their hooks
    proc.signal(signal.SIGTERM)
    assert "STOPPING=1" in notify.recv(4096).decode().splitlines()
    assert proc.wait() == 0
    notify.settimeout(0.5)
    with pytest.raises(TimeoutError):
        notify.recv(4096)  # gunicorn's own READY=1 never came
    notify.close()


def test_proxy_headers_untouched_by_gunicorn_on_unix_socket(spawn, tmp_path: Path) -> None:
    """On a unix socket (which gunicorn always trusts) X-Forwarded-Proto does not set https."""
    path = tmp_path / "app.sock"
    proc = gunicorn(spawn, "proxy_app.py", "--bind", f"unix:{path}")
    answer = unix_get(path, b"GET / HTTP/1.0\r\nHost: x\r\nX-Forwarded-Proto: https\r\n\r\n")
    assert b'"scheme":"http"' in answer.replace(b" ", b"")
    assert proc.stop() == 0
