"""A rolling restart behind HAProxy, under load: with --drain-delay no request fails.

The scenario (HAProxy, the instances, the load, the restarts) is bench/rolling_restart.py's,
which also runs it against the bare servers.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from rolling_restart import BENCH, flaskd_argv, rolling_restart

#: Longer than HAProxy needs to take an instance out of the rotation (its checks every 250 ms,
#: DOWN after 2 failures, a check timing out at 750 ms: at most about 1.25 s), with a margin
#: for a loaded machine.
DRAIN_DELAY = 3
#: Seconds between two requests on one connection of the load.
PACE = 0.02


@pytest.fixture(params=["waitress", "gunicorn", "granian"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend whose extra is installed (CI installs them all)."""
    if importlib.util.find_spec(request.param) is None:
        pytest.skip(f"{request.param} is not installed")
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        pytest.fail("haproxy is missing: ./scripts/test installs it (apt-get install haproxy)")
    return str(request.param)


def test_rolling_restart_loses_no_request(backend: str, tmp_path: Path) -> None:
    """Three instances behind HAProxy checking --ready-path, under 16 connections of load:
    each in turn gets SIGTERM, leaves the rotation while still serving (drain delay), exits 0,
    is started again and comes back; not one request fails, and each instance serves again.

    Each connection sends a request every 20 ms at most: a few hundred requests in every
    restart, without the machine's whole CPU (bench/rolling_restart.py sends back to back)."""
    result = rolling_restart(
        f"flaskd {backend}", flaskd_argv(backend, DRAIN_DELAY), cwd=BENCH / "apps",
        check_path="/readyz", work=tmp_path, connections=16, pace=PACE,
    )  # fmt: skip
    logs = "\n".join(f"{p.name}:\n{p.read_text()}" for p in sorted(tmp_path.glob("*.log")))
    assert [r.exit_code for r in result.restarts] == [0, 0, 0], logs
    assert not [r.name for r in result.restarts if r.exited_before_down], logs
    assert all(n > 100 for n in result.requests_in_restart), result  # load ran through each
    assert (result.failed, result.kinds) == (0, {}), logs
