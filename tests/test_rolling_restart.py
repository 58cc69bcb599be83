"""A rolling restart behind HAProxy, under load: with --drain-delay no request fails.

The scenario (HAProxy, the instances, the load, the restarts) is bench/rolling_restart.py's,
which also runs it against the bare servers.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import rolling_restart as scenario
from rolling_restart import BENCH, flaskd_argv, rolling_restart

from conftest import free_port

#: HAProxy's checks here: every 100 ms, DOWN after 2 failures, UP after 2 passes, a check
#: timing out at 400 ms: an instance is out of the rotation at most about 0.6 s after its
#: readiness turns 503 (the benchmark checks less often, as a production setup would).
CHECKS = {"INTER_MS": 100, "FALL": 2, "RISE": 2, "CHECK_TIMEOUT_MS": 400}
#: Longer than HAProxy needs to take an instance out of the rotation, with a margin for a
#: loaded machine.
DRAIN_DELAY = 2
#: Seconds between two requests on one connection of the load: 160 requests a second, one
#: every 6 ms or so. An instance that left the rotation late or stopped accepting early would
#: fail requests for at least a health check's interval (100 ms): about 16 of them.
PACE = 0.1


@pytest.fixture(params=["waitress", "gunicorn", "granian"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each backend whose extra is installed (CI installs them all); the scenario takes its
    ports as the other tests do (see conftest.free_port), and checks as often as `CHECKS`."""
    monkeypatch.setattr(scenario, "free_port", free_port)
    for name, value in CHECKS.items():
        monkeypatch.setattr(scenario, name, value)
    if importlib.util.find_spec(request.param) is None:
        pytest.skip(f"{request.param} is not installed")
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        pytest.fail("haproxy is missing: ./scripts/test installs it (apt-get install haproxy)")
    return str(request.param)


def test_rolling_restart_loses_no_request(backend: str, tmp_path: Path) -> None:
    """Three instances behind HAProxy checking --ready-path, under 16 connections of load:
    each in turn gets SIGTERM, leaves the rotation while still serving (drain delay), exits 0,
    is started again and comes back; not one request fails, and each instance serves again.

    Each connection sends a request every 100 ms at most: about five hundred requests in
    every restart, without the machine's whole CPU (bench/rolling_restart.py sends back to
    back)."""
    result = rolling_restart(
        f"flaskd {backend}", flaskd_argv(backend, DRAIN_DELAY), cwd=BENCH / "apps",
        check_path="/readyz", work=tmp_path, connections=16, pace=PACE,
    )  # fmt: skip
    logs = "\n".join(f"{p.name}:\n{p.read_text()}" for p in sorted(tmp_path.glob("*.log")))
    assert [r.exit_code for r in result.restarts] == [0, 0, 0], logs
    assert not [r.name for r in result.restarts if r.exited_before_down], logs
    assert all(n > 100 for n in result.requests_in_restart), result  # load ran through each
    assert (result.failed, result.kinds) == (0, {}), logs
