"""Readiness and liveness endpoints, answered by flaskd on every backend."""

from __future__ import annotations

import importlib.util
import signal
import time
from pathlib import Path

import pytest
import requests

from conftest import FLASKD, InFlight, free_port, run, wait_for


@pytest.fixture(params=["waitress", "gunicorn", "granian"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend whose extra is installed (CI installs them all)."""
    if importlib.util.find_spec(request.param) is None:
        pytest.skip(f"{request.param} is not installed")
    return str(request.param)


PROBES = ["--ready-path", "/readyz", "--live-path", "/livez"]


def test_probes_answer_and_stay_out_of_the_access_log(spawn, backend: str) -> None:
    """Once serving, /readyz and /livez answer 200 (flaskd's, not the app's 404), and are
    not written to the access log; app requests still are."""
    port = free_port()
    workers = [] if backend == "waitress" else ["--workers", "2"]
    proc = spawn(
        [*FLASKD, "run", "proxy_app.py", "--server", backend, "--port", str(port),
         "--access-log", *PROBES, *workers]
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    proc.wait_serving(url)
    for _ in range(4):  # each worker, most likely
        ready = requests.get(f"{url}/readyz", timeout=5)
        assert (ready.status_code, ready.text) == (200, "ready\n")
        live = requests.get(f"{url}/livez", timeout=5)
        assert (live.status_code, live.text) == (200, "alive\n")
    assert proc.stop() == 0
    access = [line for line in proc.output.splitlines() if "flaskd.access" in line]
    assert len(access) == 1, proc.output  # the first GET /
    assert "/readyz" not in proc.output
    assert "/livez" not in proc.output


@pytest.mark.parametrize("option", ["--ready-path", "--live-path"])
def test_a_path_the_app_routes_is_refused(option: str) -> None:
    """A probe path that is one of the app's own routes: one line, exit 2 (not shadowed)."""
    result = run([*FLASKD, "run", "hooks.py", option, "/slow"], env={"HOOKS_LOG": "/dev/null"})
    assert result.returncode == 2
    name = option.removeprefix("--").replace("-", "_")
    assert result.stderr.strip() == (
        f"Error: flag {option}: {name} /slow is a route of the app (slow), which flaskd would"
        " hide: choose another path"
    )


def serve_with_probes(spawn, backend: str, tmp_path: Path, *args: str):
    port = free_port()
    workers = [] if backend == "waitress" else ["--workers", "2"]
    proc = spawn(
        [*FLASKD, "run", "hooks.py", "--server", backend, "--port", str(port), *PROBES,
         *workers, *args],
        env={"HOOKS_LOG": str(tmp_path / "hooks.log")},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    proc.wait_serving(url)
    return proc, url


def wait_until_stopping(url: str) -> requests.Response:
    """Poll readiness on new connections until it says 503 (the stop has begun)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready = requests.get(f"{url}/readyz", timeout=5)
        if ready.status_code == 503:
            return ready
        time.sleep(0.02)
    pytest.fail("readiness never turned 503")


def test_drain_delay_keeps_serving_with_readiness_503(spawn, backend, tmp_path: Path) -> None:
    """During the drain delay, /readyz is 503 'stopping' in every process while / and /livez
    still answer 200 on new connections; a second SIGTERM then stops at once, with the same
    line on every backend, the shutdown hooks run, exit 0."""
    proc, url = serve_with_probes(spawn, backend, tmp_path, "--drain-delay", "60")
    proc.signal(signal.SIGTERM)
    assert wait_until_stopping(url).text == "stopping\n"
    for _ in range(4):  # new connections, spread over the workers
        assert requests.get(f"{url}/readyz", timeout=5).status_code == 503
        assert requests.get(f"{url}/livez", timeout=5).status_code == 200
        assert requests.get(f"{url}/", timeout=5).text == "ok"
    proc.signal(signal.SIGTERM)
    assert proc.wait() == 0
    assert "flaskd: INFO: stopping at once: requests in flight are cut" in proc.output
    assert "shutdown first" in (tmp_path / "hooks.log").read_text()


def test_after_the_drain_delay_the_stop_is_graceful(spawn, backend, tmp_path: Path) -> None:
    """Once the drain delay is over, the server stops accepting, lets the request in flight
    finish, runs the shutdown hooks and exits 0."""
    proc, url = serve_with_probes(spawn, backend, tmp_path, "--drain-delay", "1")
    slow = InFlight(f"{url}/slow")
    proc.signal(signal.SIGTERM)
    assert proc.wait() == 0
    response = slow.result()
    assert isinstance(response, requests.Response), response
    assert response.text == "slow ok"
    output = proc.output
    drain = output.index("still serving for 1s (drain delay)")
    assert output.index("stopping: finishing requests in flight") > drain
    assert "shutdown first" in (tmp_path / "hooks.log").read_text()


def test_readiness_is_starting_until_every_worker_ran_its_hooks(spawn, tmp_path: Path) -> None:
    """A granian worker that already serves answers readiness 503 'starting' while another
    worker's start-up hooks still run; 200 once every worker's have run. (gunicorn's workers
    wait for the master's READY=1 before they serve, so there nothing answers until then.)"""
    server = "granian"
    if importlib.util.find_spec(server) is None:
        pytest.skip(f"{server} is not installed")
    port = free_port()
    log, release = tmp_path / "workers.log", tmp_path / "release"
    env = {"TESTAPP_LOG": str(log), "TESTAPP_HOLD_LATER": str(release)}
    proc = spawn(
        [*FLASKD, "run", "workers.py", "--server", server, "--workers", "2", "--port", str(port),
         "--ready-path", "/readyz"],
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: log.exists() and "held" in log.read_text(), "a worker held in its hooks")
    ready = proc.wait_http(f"{url}/readyz")  # answered by the worker whose hooks ran
    assert (ready.status_code, ready.text) == (503, "starting\n")
    assert requests.get(f"{url}/pid", timeout=5).status_code == 200  # it serves meanwhile
    release.touch()
    wait_for(lambda: requests.get(f"{url}/readyz", timeout=5).status_code == 200, "ready")
    assert log.read_text().count("startup") == 2
    assert proc.stop() == 0
