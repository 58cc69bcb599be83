"""The access log cannot be forged or used to drive a terminal, on every backend."""

from __future__ import annotations

import importlib.util
import socket
import time
from urllib.parse import quote

import pytest

from conftest import FLASKD, free_port


@pytest.mark.parametrize("backend", ["waitress", "gunicorn", "granian"])
def test_client_bytes_are_escaped_in_the_access_log(spawn, backend: str, tmp_path) -> None:
    """A decoded %0A in the path cannot start a forged line, nor %1B write a terminal escape:
    control bytes, quotes and backslashes are written as \\xXX, as nginx does."""
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
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
    line = lines[1]
    assert '"GET /\\x0A127.0.0.1 - - [x] \\x22POST /admin/delete HTTP/1.1\\x22 200 0' in line
    assert "\\x1B[2J\\x5C HTTP/1.1" in line
    assert '"evil\\x22agent"' in line
    assert "\x1b" not in proc.output
    assert "POST /admin" not in "".join(proc.output.split(line))  # on no other line
