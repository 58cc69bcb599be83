"""The life of pre-fork workers (gunicorn, granian): stops, deaths, restarts, their hooks."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import signal
import struct
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from soak_stop import KILLED

from conftest import FLASKD, Proc, free_port


@pytest.fixture(params=["gunicorn", "granian"])
def prefork(request: pytest.FixtureRequest) -> str:
    """Each pre-fork backend, skipped when its extra is not installed."""
    if importlib.util.find_spec(request.param) is None:
        pytest.skip(f"{request.param} is not installed")
    return str(request.param)


class Server:
    """``flaskd run workers.py`` with two workers, and the log its hooks write."""

    def __init__(
        self, spawn, backend: str, tmp_path: Path, *args: str, env: dict[str, str] | None = None
    ) -> None:
        self.log = tmp_path / "hooks.log"
        self.port = free_port()
        self.killed: set[int] = set()
        command = [*FLASKD, "run", "workers.py", "--server", backend, "--workers", "2"]
        self.proc: Proc = spawn(
            [*command, "--port", str(self.port), *args],
            env={"TESTAPP_LOG": str(self.log), **(env or {})},
        )

    def pids(self, what: str) -> list[int]:
        """The processes that logged ``what`` (startup, shutdown, request), in order."""
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [int(line.split()[1]) for line in lines if line.split()[0] == what]

    def wait_for(self, done: Callable[[], object], what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not happen in {timeout}s:\n{self.proc.output}")
            time.sleep(0.05)

    def ready(self) -> list[int]:
        """Wait until the server said it serves; the PIDs of the workers that ran their hooks."""
        self.wait_for(lambda: "serving on" in self.proc.output, "READY")
        self.wait_for(lambda: len(self.pids("startup")) >= 2, "two start-ups")
        return self.pids("startup")

    def living_workers(self) -> set[int]:
        """The workers that ran their start-up hooks, not (yet) their shutdown hooks, and
        were not killed."""
        return set(self.pids("startup")) - set(self.pids("shutdown")) - self.killed

    def kill(self, worker: int) -> None:
        os.kill(worker, signal.SIGKILL)
        self.killed.add(worker)

    def replaced(self, started_before: int) -> int:
        """Wait for one more worker start than ``started_before``; its PID."""
        self.wait_for(lambda: len(self.pids("startup")) > started_before, "a new worker")
        return self.pids("startup")[-1]

    def serves_from(self, pids: set[int]) -> None:
        """Wait until a request is answered by one of ``pids``."""
        url = f"http://127.0.0.1:{self.port}/pid"
        self.wait_for(lambda: requests.get(url, timeout=5).json() in pids, f"an answer from {pids}")


def test_a_sigterm_landing_on_a_granian_thread_stops_the_worker_gracefully(
    spawn, tmp_path: Path
) -> None:
    """A SIGTERM to a granian worker that the kernel hands to one of its Rust threads (not
    its main thread, which alone runs Python's handlers) still stops it gracefully: its
    shutdown hooks run, and the server replaces it."""
    pytest.importorskip("granian")
    server = Server(spawn, "granian", tmp_path)
    worker = server.ready()[0]
    threads = [int(t) for t in os.listdir(f"/proc/{worker}/task") if int(t) != worker]
    names = {t: Path(f"/proc/{worker}/task/{t}/comm").read_text().strip() for t in threads}
    # kill(2) given a thread's id signals the process, delivered to that thread first.
    target = next(t for t in threads if names[t] == "tokio-rt-worker")
    os.kill(target, signal.SIGTERM)
    server.wait_for(lambda: worker in server.pids("shutdown"), f"worker {worker}'s shutdown hook")
    new = server.replaced(2)
    server.serves_from({new} | server.living_workers())
    assert server.proc.stop() == 0, server.proc.output
    assert server.living_workers() == set(), server.proc.output


def test_a_killed_worker_is_replaced_and_the_new_one_runs_the_start_up_hooks(
    spawn, prefork: str, tmp_path: Path
) -> None:
    """kill -9 of one worker: the server keeps serving, a new worker runs the start-up
    hooks, and at the stop every living worker runs its shutdown hooks; exit code 0."""
    server = Server(spawn, prefork, tmp_path)
    killed, kept = server.ready()
    server.kill(killed)
    new = server.replaced(2)
    server.serves_from({new})
    assert server.proc.stop() == 0, server.proc.output
    assert set(server.pids("shutdown")) == {kept, new}, server.proc.output


def test_a_start_up_hook_failing_in_a_replacement_worker_stops_the_server(
    spawn, prefork: str, tmp_path: Path
) -> None:
    """A worker started again after a crash whose start-up hook fails stops the server as
    at start: exit code 3 with the hook's one-line error, not a loop of failing workers;
    the other worker runs its shutdown hooks."""
    marker = tmp_path / "database-gone"
    server = Server(spawn, prefork, tmp_path, env={"TESTAPP_FAIL_IF": str(marker)})
    killed, kept = server.ready()
    marker.touch()
    server.kill(killed)
    assert server.proc.wait(60) == 3, server.proc.output
    assert "start-up hook workers:started failed: RuntimeError: the database is gone" in (
        server.proc.output
    )
    assert server.pids("shutdown") == [kept], server.proc.output


def test_requests_outliving_the_graceful_timeout_are_cut_and_the_shutdown_hooks_run(
    spawn, prefork: str, tmp_path: Path
) -> None:
    """A request still running at --graceful-timeout is cut; every worker then runs its
    shutdown hooks (none is killed before) and the server exits 0."""
    server = Server(spawn, prefork, tmp_path, "--graceful-timeout", "1")
    server.ready()
    answers: list[object] = []

    def long_request() -> None:
        try:
            answers.append(requests.get(f"http://127.0.0.1:{server.port}/sleep/60", timeout=90))
        except requests.RequestException as e:
            answers.append(e)

    request = threading.Thread(target=long_request)
    request.start()
    server.wait_for(lambda: server.pids("request"), "the request reaching the app")
    server.proc.signal(signal.SIGTERM)
    assert server.proc.wait(60) == 0, server.proc.output
    request.join(60)
    assert isinstance(answers[0], requests.RequestException)
    assert server.living_workers() == set(), server.proc.output
    assert not any(word in server.proc.output for word in KILLED), server.proc.output


def unread_bytes_in_pipes(pid: int) -> int:
    """How many bytes wait, unread, in the pipes that process ``pid`` holds open."""
    total = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        path = f"/proc/{pid}/fd/{fd}"
        with contextlib.suppress(OSError):
            if not os.readlink(path).startswith("pipe:"):
                continue
            pipe = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            try:
                count = fcntl.ioctl(pipe, termios.FIONREAD, b"\0\0\0\0")
                total += struct.unpack("i", count)[0]
            finally:
                os.close(pipe)
    return total


def test_worker_restarts_leave_nothing_unread_in_the_main_process_pipes(
    spawn, prefork: str, tmp_path: Path
) -> None:
    """Every worker start writes to a pipe the main process reads: it must go on reading it
    after READY, or after some thousands of restarts (HUPs, crashes) the pipe is full and
    the next worker blocks forever. Shown here after a few restarts: nothing is left unread."""
    server = Server(spawn, prefork, tmp_path)
    server.ready()
    main = server.proc.popen.pid
    for _ in range(4):
        started = len(server.pids("startup"))
        if prefork == "gunicorn":
            server.proc.signal(signal.SIGHUP)  # new workers replace both
            server.wait_for(lambda n=started: len(server.pids("startup")) >= n + 2, "new workers")
        else:
            server.kill(min(server.living_workers()))
            server.replaced(started)
    server.wait_for(lambda: unread_bytes_in_pipes(main) == 0, "nothing unread in the pipes")
    server.serves_from(server.living_workers())
    assert server.proc.stop() == 0, server.proc.output
