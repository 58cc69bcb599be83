"""The gunicorn backend: real processes, real HTTP, real signals."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import requests

from conftest import FLASKD, free_port, unix_get

pytest.importorskip("gunicorn")


def gunicorn(spawn, app: str, *args: str, env: dict[str, str] | None = None):
    return spawn([*FLASKD, "run", app, "--server", "gunicorn", *args], env=env)


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


def test_proxy_headers_untouched_by_gunicorn_on_unix_socket(spawn, tmp_path: Path) -> None:
    """On a unix socket (which gunicorn always trusts) X-Forwarded-Proto does not set https."""
    path = tmp_path / "app.sock"
    proc = gunicorn(spawn, "proxy_app.py", "--bind", f"unix:{path}")
    answer = unix_get(path, b"GET / HTTP/1.0\r\nHost: x\r\nX-Forwarded-Proto: https\r\n\r\n")
    assert b'"scheme":"http"' in answer.replace(b" ", b"")
    assert proc.stop() == 0
