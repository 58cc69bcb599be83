"""Readiness and liveness endpoints, answered by flaskd on every backend."""

from __future__ import annotations

import importlib.util

import pytest
import requests

from conftest import FLASKD, free_port, run


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
    proc.wait_http(url)
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
