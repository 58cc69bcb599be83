"""Log lines on every backend: text with the time (none for the journal), JSON lines, a
logging config file, and request IDs."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import APPS, FLASKD, InFlight, free_port

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@pytest.fixture(params=["waitress", "gunicorn", "granian"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend whose extra is installed (CI installs them all)."""
    if importlib.util.find_spec(request.param) is None:
        pytest.skip(f"{request.param} is not installed")
    return str(request.param)


def serve(spawn, backend: str, *args: str):
    port = free_port()
    workers = [] if backend == "waitress" else ["--workers", "2"]
    base = [*FLASKD, "run", "proxy_app.py", "--server", backend, "--port", str(port)]
    proc = spawn([*base, *workers, *args])
    url = f"http://127.0.0.1:{port}"
    proc.wait_http(url)
    return proc, url


def wait_for(proc, text: str, count: int = 1) -> None:
    """Wait until ``text`` is in the process's output ``count`` times."""
    deadline = time.monotonic() + 20
    while proc.output.count(text) < count:
        assert time.monotonic() < deadline, f"{text!r} x{count} never came:\n{proc.output}"
        time.sleep(0.05)


def test_json_lines_stay_valid_whatever_a_client_sends(spawn, backend: str) -> None:
    """With --log-format json, every line flaskd and the server write is one JSON object
    (time, level, logger, message); an access record adds the request's fields, and a
    header with a quote and a backslash stays valid JSON."""
    proc, url = serve(spawn, backend, "--log-format", "json", "--access-log")
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as s:
        s.sendall(
            b'GET /id?x=%0A%22 HTTP/1.1\r\nHost: x\r\nUser-Agent: a"b\\c\r\n'
            b"Connection: close\r\n\r\n"
        )
        while s.recv(65536):
            pass
    wait_for(proc, '"logger": "flaskd.access"', 2)
    wait_for(proc, '"message": "serving on')  # granian's workers may answer before it is said
    lines = [json.loads(line) for line in proc.output.splitlines()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert all(re.fullmatch(TIME, line["time"]) for line in lines)
    assert {line["logger"] for line in lines} >= {"flaskd", "flaskd.access"}
    # Each worker logs its own requests: the readiness poll's line may come after this one.
    (access,) = [line for line in lines if line.get("path", "").startswith("/id")]
    assert access["method"] == "GET"
    assert access["path"] == "/id?x=%0A%22"
    assert access["status"] == 200
    assert access["user_agent"] == 'a"b\\c'
    assert re.fullmatch(r"[0-9a-f]{32}", access["request_id"])
    assert isinstance(access["bytes"], int)
    assert isinstance(access["duration_ms"], float)


def test_text_lines_carry_the_time_except_in_the_journal(tmp_path: Path) -> None:
    """Text lines start with the time in ISO 8601 UTC; not when stderr is the journal
    (JOURNAL_STREAM names stderr's device and inode), which stamps lines itself."""
    outputs = {}
    for journal in (False, True):
        log = tmp_path / f"stderr-{journal}"
        with log.open("w") as err:
            st = os.fstat(err.fileno())
            env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
            if journal:
                env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
            done = subprocess.run(
                [*FLASKD, "run", "bad_hook.py", "--log-level", "debug", "--port", "0"],
                cwd=APPS, env=env, stderr=err, stdout=subprocess.DEVNULL, timeout=60, check=False,
            )  # fmt: skip
        assert done.returncode == 3
        outputs[journal] = log.read_text().splitlines()
    assert re.match(
        TIME + " flaskd: DEBUG: start-up hook bad_hook:connect failed", outputs[False][0]
    )
    assert outputs[True][0] == "flaskd: DEBUG: start-up hook bad_hook:connect failed"


def test_request_ids(spawn, backend: str) -> None:
    """A request gets an ID in the environ, the X-Request-ID header the app reads and the
    response; a trusted proxy's own is kept, a client's is replaced; --no-request-id: none."""
    proc, url = serve(spawn, backend, "--forwarded-allow-ips", "10.0.0.0/8")
    made = requests.get(f"{url}/id", headers={"X-Request-ID": "mine"}, timeout=5)
    made_id = made.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made_id)  # 127.0.0.1 is no trusted proxy here
    assert made.json() == {"environ": made_id, "header": made_id}
    other = requests.get(f"{url}/id", timeout=5).headers["X-Request-ID"]
    assert other != made_id
    proc.kill()
    proc, url = serve(spawn, backend, "--forwarded-allow-ips", "127.0.0.1")
    kept = requests.get(f"{url}/id", headers={"X-Request-ID": "lb-42"}, timeout=5)
    assert kept.headers["X-Request-ID"] == "lb-42"
    assert kept.json() == {"environ": "lb-42", "header": "lb-42"}
    odd = requests.get(f"{url}/id", headers={"X-Request-ID": "a b<script>"}, timeout=5)
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["X-Request-ID"])
    proc.kill()
    proc, url = serve(spawn, backend, "--no-request-id")
    off = requests.get(f"{url}/id", timeout=5)
    assert "X-Request-ID" not in off.headers
    assert off.json() == {"environ": None, "header": None}


def test_log_config_file_takes_over(spawn, tmp_path: Path) -> None:
    """--log-config applies a dictConfig file (JSON here): its handler and format win."""
    lines = tmp_path / "flaskd.log"
    config = tmp_path / "logging.json"
    config.write_text(json.dumps({
        "formatters": {"mine": {"format": "MINE %(levelname)s %(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "filename": str(lines),
                              "formatter": "mine"}},
        "loggers": {"flaskd": {"handlers": ["file"], "level": "INFO"}},
    }))  # fmt: skip
    serve(spawn, "waitress", "--log-config", str(config))
    assert lines.read_text().startswith("MINE INFO serving on http://127.0.0.1:")


def test_bad_log_config_is_one_line(tmp_path: Path) -> None:
    """A log config file logging rejects is one line naming it, exit 2."""
    config = tmp_path / "logging.toml"
    config.write_text('[handlers.x]\nclass = "no.such.Handler"\n')
    done = subprocess.run(
        [*FLASKD, "run", "proxy_app.py", "--log-config", str(config)],
        cwd=APPS, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith(f"Error: --log-config {config}: logging rejects it:")
    assert len(done.stderr.strip().splitlines()) == 1


def test_waitress_queue_waits_are_summed_up_not_logged_one_by_one(spawn, tmp_path: Path) -> None:
    """waitress writes "Task queue depth is N" for each request that waits for a thread (under
    load, a line for most requests); flaskd logs the first wait, then sums them up."""
    port = free_port()
    args = [*FLASKD, "run", "hooks.py", "--port", str(port), "--threads", "1"]
    proc = spawn(args, env={"HOOKS_LOG": str(tmp_path / "hooks.log")})
    url = f"http://127.0.0.1:{port}"
    proc.wait_serving(url)
    held = InFlight(f"{url}/slow", hold=True)  # the one thread is busy until released
    queued = [InFlight(f"{url}/slow", hold=True, signalled=False) for _ in range(3)]
    wait_for(proc, "the one thread busy: a request waits for a thread")
    for request in (held, *queued):
        request.release()
    for request in (held, *queued):
        response = request.result()
        assert isinstance(response, requests.Response)
        assert response.status_code == 200
    assert proc.stop() == 0
    assert proc.output.count("thread busy") == 1
    assert "Task queue depth" not in proc.output
