"""The granian backend, in real processes: hooks per worker, signals, readiness, addresses."""

from __future__ import annotations

import sys

import pytest
import requests

from conftest import FLASKD, free_port

pytest.importorskip("granian")

from flaskd.servers.granian import SmallBodies  # after the skip: it imports granian

GRANIAN = ["--server", "granian"]


def test_environ_has_no_process_environment(spawn) -> None:
    """granian's environ does not start from the process environment (which the app still
    reads through os.environ); real headers are kept."""
    port = free_port()
    proc = spawn(
        [*FLASKD, "run", "granian_env.py", *GRANIAN, "--port", str(port)],
        env={"SOME_SECRET": "x", "HTTP_PROXY": "http://proxy.invalid", "CONTENT_LENGTH": "99"},
    )
    environ = proc.wait_http(f"http://127.0.0.1:{port}/environ").json()
    for key in ("SOME_SECRET", "PATH", "HTTP_PROXY", "CONTENT_LENGTH"):
        assert key not in environ
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["SERVER_SOFTWARE"] == "Granian"
    posted = requests.post(
        f"http://127.0.0.1:{port}/environ",
        data=b"abc",
        headers={"Proxy": "from-client"},
        timeout=5,
    ).json()
    assert (posted["HTTP_PROXY"], posted["CONTENT_LENGTH"]) == ("from-client", "3")
    assert "SOME_SECRET" not in posted
    assert requests.get(f"http://127.0.0.1:{port}/getenv/SOME_SECRET", timeout=5).json() == "x"
    assert proc.stop() == 0


def test_more_than_one_address_is_refused(invoke) -> None:
    """granian serves one address: two --bind values exit 2 with a one-line message."""
    binds = [f"--bind=127.0.0.1:{free_port()}", f"--bind=127.0.0.1:{free_port()}"]
    result = invoke(["run", "opts.py", *GRANIAN, *binds])
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "granian serves one address only, not 2" in result.stderr


def test_small_bodies_are_joined_large_and_unsized_ones_stream() -> None:
    """granian gets a short response of known length as one list (which it writes from Rust
    in one go), closed after joining; a long or unsized one is passed on as it is."""
    closed: list[str] = []

    class Body:
        def __init__(self, name: str, chunks: list[bytes]) -> None:
            self.name, self.chunks = name, chunks

        def __iter__(self):
            return iter(self.chunks)

        def close(self) -> None:
            closed.append(self.name)

    def app(environ, start_response):
        size = {"/small": 10, "/large": 100_000}.get(environ["PATH_INFO"])
        headers = [("Content-Length", str(size))] if size else []
        start_response("200 OK", headers)
        chunk = b"x" * (size or 10)
        return Body(environ["PATH_INFO"], [chunk[: len(chunk) // 2], chunk[len(chunk) // 2 :]])

    wrapped = SmallBodies(app)
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    assert wrapped({"PATH_INFO": "/small"}, start_response) == [b"x" * 10]
    assert closed == ["/small"]
    for path in ("/large", "/unsized"):
        body = wrapped({"PATH_INFO": path}, start_response)
        assert isinstance(body, Body)
        assert body.name == path
    assert closed == ["/small"]
    assert statuses == ["200 OK"] * 3


def test_workers_are_forked_whatever_the_default_start_method(spawn) -> None:
    """The workers inherit flaskd's pipes and the loaded app, so they are forked even where
    Python's default start method is another: forkserver here, as on Linux from Python
    3.14, which granian turns into spawn (it failed to pickle the app)."""
    port = free_port()
    code = (
        "import multiprocessing, sys\n"
        "multiprocessing.set_start_method('forkserver')\n"
        "from flaskd.cli import cli\n"
        f"cli(['run', 'opts.py', '--server', 'granian', '--workers', '2', '--port', '{port}'])\n"
    )
    proc = spawn([sys.executable, "-c", code])
    assert proc.wait_http(f"http://127.0.0.1:{port}/config").status_code == 200
    assert proc.stop() == 0
    assert "Traceback" not in proc.output


def test_a_stop_signal_while_the_main_loop_holds_its_lock_still_stops(spawn, tmp_path) -> None:
    """A SIGTERM handled while granian's main thread holds its main-loop event's lock (for a
    few bytecodes as it enters its wait) stops the server gracefully. granian's own handler
    set that event, waiting for the lock its own thread held: the main process hung for good
    (seen once in CI, Ctrl-C right as the server became ready). Luck decides when a real
    signal lands; here granian's loop sends it to its process inside the lock, every time."""
    port = free_port()
    log = tmp_path / "hooks.log"
    code = (
        "import os, signal\n"
        "from granian.server import common\n"
        "serve_loop = common.AbstractServer._serve_loop\n"
        "def unlucky(self, *args):\n"
        "    with self.main_loop_interrupt._cond:\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return serve_loop(self, *args)\n"
        "common.AbstractServer._serve_loop = unlucky\n"
        "from flaskd.cli import cli\n"
        f"cli(['run', 'hooks.py', *{GRANIAN!r}, '--workers', '2', '--port', '{port}'])\n"
    )
    proc = spawn([sys.executable, "-c", code], env={"HOOKS_LOG": str(log)})
    assert proc.wait() == 0, proc.output
    lines = log.read_text().splitlines()
    assert (lines.count("startup first"), lines.count("shutdown first")) == (2, 2), proc.output
