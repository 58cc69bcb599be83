"""What a client sends cannot forge the access log or keep memory pinned, on every backend."""

from __future__ import annotations

import importlib.util
import socket
import time
from urllib.parse import quote

import pytest
import requests

from conftest import FLASKD, free_port


@pytest.fixture(params=["waitress", "gunicorn", "granian"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend whose extra is installed (CI installs them all)."""
    if importlib.util.find_spec(request.param) is None:
        pytest.skip(f"{request.param} is not installed")
    return str(request.param)


def test_client_bytes_are_escaped_in_the_access_log(spawn, backend: str, tmp_path) -> None:
    """A decoded %0A in the path cannot start a forged line, nor %1B write a terminal escape:
    control bytes, quotes and backslashes are written as \\xXX, as nginx does."""
    port = free_port()
    proc = spawn(
        [*FLASKD, "run", "hooks.py", "--server", backend, "--port", str(port), "--access-log"],
        env={"HOOKS_LOG": str(tmp_path / "hooks.log")},
    )
    proc.wait_http(f"http://127.0.0.1:{port}/")
    forged = quote('\n127.0.0.1 - - [x] "POST /admin/delete HTTP/1.1" 200 0 \x1b[2J\\')
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(
            f'GET /{forged} HTTP/1.1\r\nHost: x\r\nUser-Agent: evil"agent\r\n'
            "Connection: close\r\n\r\n".encode()
        )
        while s.recv(65536):
            pass
    deadline = time.monotonic() + 10  # the line is written once the response is closed
    while proc.output.count("flaskd.access") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [line for line in proc.output.splitlines() if "flaskd.access" in line]
    assert len(lines) == 2, proc.output  # the probe, and the forged request: one line each
    (line,) = [line for line in lines if "evil" in line]  # in any order: two threads
    assert '"GET /\\x0A127.0.0.1 - - [x] \\x22POST /admin/delete HTTP/1.1\\x22 200 0' in line
    assert "\\x1B[2J\\x5C HTTP/1.1" in line
    assert '"evil\\x22agent"' in line
    assert "\x1b" not in proc.output
    assert "POST /admin" not in "".join(proc.output.split(line))  # on no other line


def test_rejected_chunked_upload_frees_its_memory_at_once(spawn, backend: str) -> None:
    """A chunked upload refused with 413 once the app read past the limit leaves nothing of
    its body behind: it used to stay in a reference cycle (Flask keeps the error, whose
    traceback holds the body read so far) until the cycle collector ran, up to the limit per
    upload (a gunicorn worker at 429 MB after six 413s). The app keeps the collector off."""
    port = free_port()
    proc = spawn(
        [*FLASKD, "run", "upload_app.py", "--server", backend, "--port", str(port)]
        + ([] if backend == "waitress" else ["--workers", "1"])
        + ["--max-request-body", "2m"]
    )
    url = f"http://127.0.0.1:{port}"
    proc.wait_http(f"{url}/held")
    chunk = b"x" * 256 * 1024
    assert requests.post(f"{url}/echo", data=iter([chunk] * 4), timeout=30).text == str(1024**2)
    for _ in range(3):
        response = requests.post(f"{url}/echo", data=iter([chunk] * 12), timeout=30)
        assert response.status_code == 413
    assert requests.get(f"{url}/held", timeout=10).text == "0"
