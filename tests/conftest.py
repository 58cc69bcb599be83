"""Shared fixtures: real server processes on free loopback ports, and a clean environment."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from app_imports import apps_imported_anew

APPS = Path(__file__).parent / "apps"
ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "notes"
#: Env var prefixes the tests' apps use; cleared around every test.
PREFIXES = (
    "FLASKD_",
    "NOTES_",
    "HOOKS_",
    "OPTS_",
    "PLAIN_",
    "TESTAPP_",
    "CLIAPP_",
    "EXCL_",
    "CREDENTIALS_DIRECTORY",
    "PORT",  # a platform's port, read by flaskd: not the developer's or CI's
    "JOURNAL_STREAM",  # flaskd leaves the time out of its lines when stderr is the journal
)


def pytest_configure(config: pytest.Config) -> None:
    """Let every process of the test session write its bytecode; let the servers the tests
    start take SIGINT and SIGQUIT, however pytest was started.

    PYTHONDONTWRITEBYTECODE is set on these machines (and may be on a developer's). With it,
    each of the several hundred servers the tests start compiled flaskd (installed editable)
    anew, about 6% of the suite's CPU, and each pytest-xdist worker rewrote and compiled
    every test module at every run (collecting took 1.3 s of CPU per worker, 0.85 s with
    the bytecode kept). The controller drops it before the workers start; they and
    everything they start inherit that.

    A command put in the background by a shell without job control (``pytest &`` in a
    script) starts with SIGINT and SIGQUIT ignored; its children inherit that, and Python
    then never turns SIGINT into KeyboardInterrupt: waitress-serve and a plain Flask script
    ignored the tests' Ctrl-C and ran on. A signal with a handler is reset to its default
    in a child, an ignored one is not.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    for signum, handler in ((signal.SIGINT, signal.default_int_handler),
                            (signal.SIGQUIT, signal.SIG_DFL)):  # fmt: skip
        if signal.getsignal(signum) == signal.SIG_IGN:
            signal.signal(signum, handler)


#: Test files whose costly set-up (a booted systemd, venvs any user can read) is made once
#: per pytest-xdist worker: each runs whole in one worker (``--dist loadgroup``). The podman
#: tests mark their own groups, one per image. The other tests are spread one by one.
TOGETHER = ("test_systemd_e2e.py", "test_systemd_unit.py")
#: Files all of whose tests are in a group.
GROUPED = (*TOGETHER, "test_container_podman.py")


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the marks into the test ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in TOGETHER:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
    # The groups first: each runs through in one worker, the longest jobs of the suite,
    # while the single tests fill the other workers around them.
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)


def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Stop at once when xdist's ``--dist loadgroup`` did not group (it marks the test ids):
    with pytest 9.2 it silently spread the grouped files over every worker, each then
    building every image (pytest-dev/pytest-xdist#1386)."""
    if node.config.getvalue("dist") != "loadgroup":
        return
    lost = [i for i in ids if i.split("::")[0].endswith(GROUPED) and "@" not in i]
    if lost:
        pytest.exit(f"pytest-xdist did not group {lost[0]} and {len(lost) - 1} more", 4)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Start every test without flaskd's or the test apps' env vars, and end it with the
    environment it started with: a command run in-process may export an env file into it,
    as the real command does into its own process."""
    for name in list(os.environ):
        if name.startswith(PREFIXES):
            monkeypatch.delenv(name)
    before = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(before)


#: Ports the tests' servers listen on: below Linux's ephemeral range (32768 up), where no
#: outgoing connection takes one, and, with pytest-xdist (``-n N``), the ports of this
#: worker's residue mod N only, so that two workers never choose the same port.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
_PORTS = range(10000 + _WORKER, 32768, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def _shuffled_ports() -> Iterator[int]:
    while True:
        yield from random.sample(_PORTS, len(_PORTS))


#: Each port once before any comes again: a test often takes several ports before its servers
#: bind them (three instances and HAProxy), and two equal ones made one server fail to start.
_NEXT_PORTS = _shuffled_ports()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, and that no other call in
    this process returned lately."""
    while True:
        port = next(_NEXT_PORTS)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use
        return port


class Proc:
    """A server process started for a test, with its output kept in a file."""

    def __init__(self, args: Sequence[str], *, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.args = list(args)
        self.log = log
        self._out = log.open("wb")
        # Its own process group, so that teardown can kill its workers too.
        self.popen = subprocess.Popen(
            self.args,
            cwd=cwd,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def output(self) -> str:
        self._out.flush()
        return self.log.read_text()

    def wait_http(self, url: str, timeout: float = 20) -> requests.Response:
        """Wait until ``url`` answers; fail with the process's output if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                pytest.fail(f"{self.args} exited {self.popen.returncode}:\n{self.output}")
            try:
                # A short connect timeout, then the rest of the time for the answer: a server
                # that accepted the connection may still be booting (gunicorn's workers), and
                # asking again would count as a second request.
                remaining = max(deadline - time.monotonic(), 0.1)
                return requests.get(url, timeout=(min(2, remaining), remaining))
            except requests.ConnectionError:
                time.sleep(0.05)
            except requests.Timeout:
                break
        pytest.fail(f"{url} did not answer in {timeout}s:\n{self.output}")

    def wait_serving(self, url: str, timeout: float = 20) -> requests.Response:
        """`wait_http`, then wait until flaskd has said "serving on": every worker ran its
        start-up hooks (a granian worker answers as soon as its own hooks ran)."""
        response = self.wait_http(url, timeout)
        wait_for(lambda: "serving on" in self.output, f"{self.args}: 'serving on'", timeout)
        return response

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.popen.send_signal(signum)

    def wait(self, timeout: float = 20) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.dump_stacks()
            pytest.fail(f"{self.args} did not exit in {timeout}s:\n{self.output}")

    def dump_stacks(self) -> None:
        """Have the process print the stack of each of its threads (faulthandler, which
        `spawn` turns on, does on SIGABRT) into its output: where it hangs."""
        with contextlib.suppress(ProcessLookupError):
            self.popen.send_signal(signal.SIGABRT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)

    def stop(self) -> int:
        """Stop the process with SIGTERM and return its exit code."""
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
        return self.wait()

    def kill(self) -> None:
        """Kill the process and whatever it forked (workers outlive a killed master)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()
        self._out.close()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[object]:
    """Start processes that are killed when the test ends: spawn(args, cwd=..., env={...})."""
    procs: list[Proc] = []

    def start(args: Sequence[str], *, cwd: Path = APPS, env: dict[str, str] | None = None) -> Proc:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
        full_env.update(env or {})
        full_env["PYTHONUNBUFFERED"] = "1"
        full_env["PYTHONFAULTHANDLER"] = "1"  # for Proc.dump_stacks
        proc = Proc(args, cwd=cwd, env=full_env, log=tmp_path / f"proc{len(procs)}.log")
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()


@dataclasses.dataclass
class Invoked:
    """What a command run in-process gave, named as subprocess.CompletedProcess names it."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Invoked]:
    """Run the flaskd command in this process (click's CliRunner), for what serves nothing:
    invoke(args, cwd=APPS, env={...}). A bug (an exception that is no user error) is raised."""
    from flaskd.cli import cli

    def call(
        args: Sequence[str], *, cwd: Path = APPS, env: dict[str, str] | None = None
    ) -> Invoked:
        monkeypatch.chdir(cwd)
        with apps_imported_anew(str(ROOT / "src")):
            result = CliRunner().invoke(cli, list(args), env=env, prog_name="flaskd")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Invoked(result.exit_code, result.stdout, result.stderr)

    return call


def run(
    args: Sequence[str],
    *,
    cwd: Path = APPS,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion (it must not serve) and return its result."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    full_env.update(env or {})
    return subprocess.run(
        args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )


class InFlight:
    """A GET running in a thread, for a request in flight when a signal arrives.

    The app says when the request has reached it: its /slow handler (tests/apps/hooks.py)
    creates the file named by the ``X-Started`` header, which this waits for. With
    ``hold=True`` the handler then waits for `release` (the file named by ``X-Release``)
    instead of 2 seconds, so that a test decides when the request may complete.
    ``signalled=False`` is for an app that cannot reach the test's files (in a container):
    the test waits for another sign of its own (a line in the journal or the logs).
    """

    def __init__(self, url: str, *, hold: bool = False, signalled: bool = True) -> None:
        self._result: list[requests.Response | requests.RequestException] = []
        self._dir = Path(tempfile.mkdtemp(prefix="inflight-"))
        self._started, self._release = self._dir / "started", self._dir / "release"
        headers = {"X-Started": str(self._started)} if signalled else {}
        if hold:
            headers["X-Release"] = str(self._release)
        self._thread = threading.Thread(target=self._get, args=(url, headers))
        self._thread.start()
        if not signalled:
            return
        deadline = time.monotonic() + 20
        while not self._started.exists():
            if not self._thread.is_alive():
                pytest.fail(f"{url} ended before the app said it started: {self._result}")
            if time.monotonic() > deadline:
                pytest.fail(f"{url}: the app did not say it started within 20 s")
            time.sleep(0.01)

    def _get(self, url: str, headers: dict[str, str]) -> None:
        try:
            self._result.append(requests.get(url, headers=headers, timeout=60))
        except requests.RequestException as e:
            self._result.append(e)

    def release(self) -> None:
        """Let a held request complete."""
        self._release.touch()

    def result(self) -> requests.Response | requests.RequestException:
        """The response (or the error, when the request was cut), once the request ended."""
        self._thread.join()
        shutil.rmtree(self._dir, ignore_errors=True)
        return self._result[0]


def wait_refused(port: int, host: str = "127.0.0.1", timeout: float = 20) -> None:
    """Wait until a new connection to ``port`` is refused: the server closed its listener."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=2).close()
        except ConnectionRefusedError:
            return
        except ConnectionResetError:
            pass  # queued as the listener closed: the kernel resets it; the next one is refused
        time.sleep(0.02)
    pytest.fail(f"{host}:{port} still accepted connections after {timeout}s")


def wait_for(condition: Callable[[], object], what: str, timeout: float = 20) -> None:
    """Wait until ``condition()`` is true; fail naming ``what`` if it does not become so."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not so after {timeout}s")
        time.sleep(0.02)


def unix_get(path: Path, request: bytes = b"GET / HTTP/1.0\r\nHost: x\r\n\r\n") -> bytes:
    """Send one HTTP/1.0 request over the unix socket at ``path`` (once it listens); the answer."""
    deadline = time.monotonic() + 20
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        while True:
            try:
                s.connect(str(path))
                break
            # Not there yet, or bound but not yet listening.
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        s.sendall(request)
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    return answer


PY = sys.executable
FLASKD = [PY, "-m", "flaskd"]
#: How long `flaskd container` may take: its pip resolves against the package index and
#: builds wheels, minutes on a loaded machine with a slow index.
CONTAINER_TIMEOUT = 300
#: The console scripts of the environment running the tests (waitress-serve, gunicorn).
BIN = Path(sys.executable).parent
