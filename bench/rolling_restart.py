#!/usr/bin/env python3
"""A rolling restart behind HAProxy, under load: how many requests fail?

    python bench/rolling_restart.py [--seconds 20] [--connections 16] [--backends ...]
                                    [--drain-delay 3] [--retries 0]

For each backend, three instances of bench/apps/hello.py run on free loopback
ports behind HAProxy (Debian's `haproxy`), which checks each one's health every
250 ms. A load of --connections keep-alive connections (threads with
http.client, every request counted: a 200 is a success, anything else, an
error status or a connection error, a failure) runs for --seconds while each
instance in turn gets SIGTERM, is waited for, started again on its port and
waited for until HAProxy has it UP again. This runs for flaskd (`--ready-path`
checked by HAProxy, `--drain-delay`) and, as the anchor, for the bare server
(waitress-serve, gunicorn, granian run directly, HAProxy checking `/`, the
server's own stop). Prints a Markdown table and writes it to
bench/results/rolling_restart.md (only for a run with every backend; a partial
run writes rolling_restart-partial.md, not committed). Loopback only; every
phase has a time limit. tests/test_rolling_restart.py runs the same scenario.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import importlib.metadata
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
PY = sys.executable
HOST = "127.0.0.1"  # loopback only, always
THREADS = 4  # per server process
WORKERS = 2  # processes per instance (gunicorn, granian)
INSTANCES = 3
BACKENDS = ("waitress", "gunicorn", "granian")

#: HAProxy's health checks: every INTER_MS, DOWN after FALL failed checks, UP after RISE good
#: ones; a check unanswered in CHECK_TIMEOUT_MS fails. A server is out of the rotation at most
#: about INTER_MS * FALL + CHECK_TIMEOUT_MS after its readiness turns 503 (1.25 s): the drain
#: delay must be longer than that, with a margin for a loaded machine.
INTER_MS, FALL, RISE, CHECK_TIMEOUT_MS = 250, 2, 2, 750

HAPROXY_CONFIG = """\
global
    stats socket {stats} mode 600
    log stdout format raw local0
    maxconn 1000

defaults
    mode http
    log global
    option httplog
    option dontlog-normal           # log only failed requests
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout check {check_timeout}ms
{retries}

frontend web
    bind {host}:{port}
    default_backend app

backend app
    balance roundrobin
    option httpchk
    http-check send meth GET uri {check_path} ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server check inter {inter}ms fall {fall} rise {rise}
{servers}
"""

#: No retries: a request HAProxy could not deliver fails, so the counts show what the servers
#: did. HAProxy's default is `retries 3` (on a failed connect, to the same server).
NO_RETRIES = "    retries 0"
#: What many operators add: retry a failed connect up to 3 times, the last on another server.
REDISPATCH = "    retries 3\n    option redispatch"


#: The ports handed out so far: a run takes several before its servers bind them, and the
#: kernel could hand out the same free port twice.
_GIVEN: set[int] = set()


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    """Poll ``check`` until it is true; TimeoutError naming ``what`` if it never is."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not seen in {timeout:g}s")
        time.sleep(0.02)


class Process:
    """A process started in its own process group, its output kept in a file."""

    def __init__(self, argv: Sequence[str], log: Path, cwd: Path) -> None:
        self.argv, self.log = list(argv), log
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def running(self) -> bool:
        return self.popen.poll() is None

    def group(self) -> list[str]:
        """The command lines of the processes still in its process group (what it forked)."""
        found = []
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError, ValueError):
                if os.getpgid(int(entry.name)) == self.popen.pid:
                    line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    found.append(line.strip() or f"{entry.name} (exited)")
        return found

    def kill(self) -> None:
        """Kill the process and whatever it forked."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()


class HAProxy:
    """HAProxy on a free loopback port in front of ``servers`` (name -> port)."""

    def __init__(self, work: Path, servers: dict[str, int], check_path: str, retries: str):
        self.port = free_port()
        self.stats = work / "haproxy.sock"
        lines = [f"    server {name} {HOST}:{port}" for name, port in servers.items()]
        config = HAPROXY_CONFIG.format(
            stats=self.stats, check_timeout=CHECK_TIMEOUT_MS, retries=retries, host=HOST,
            port=self.port, check_path=check_path, inter=INTER_MS, fall=FALL, rise=RISE,
            servers="\n".join(lines),
        )  # fmt: skip
        (work / "haproxy.cfg").write_text(config)
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self.process = Process([haproxy, "-db", "-f", "haproxy.cfg"], work / "haproxy.log", work)
        wait_for("HAProxy's stats socket", self._answers, 20)

    def _answers(self) -> bool:
        if not self.process.running():
            raise RuntimeError(f"haproxy exited:\n{self.process.log.read_text()}")
        try:
            self.command("show info")
        except OSError:
            return False
        return True

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(str(self.stats))
            s.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self) -> dict[str, dict[str, str]]:
        """`show stat` of each server of the backend: status (UP, DOWN, ...), hrsp_2xx, ..."""
        lines = self.command("show stat").splitlines()
        names = lines[0].removeprefix("# ").split(",")
        rows = [dict(zip(names, line.split(","), strict=False)) for line in lines[1:] if line]
        return {r["svname"]: r for r in rows if r["pxname"] == "app" and r["svname"] != "BACKEND"}

    def status(self, name: str) -> str:
        """UP, DOWN, or on the way ("UP 1/2"); a server is UP from the start, before any
        check, so UP counts only once a check passed (check_status L7OK)."""
        row = self.servers()[name]
        if row["status"] == "UP" and row["check_status"] != "L7OK":
            return "UP, unchecked"
        return row["status"]

    def wait_status(self, name: str, status: str, timeout: float = 60) -> None:
        """Wait until HAProxy has server ``name`` in ``status`` (UP or DOWN, not going there)."""
        wait_for(f"HAProxy: server {name} {status}", lambda: self.status(name) == status, timeout)


class Load:
    """Keep-alive HTTP/1.1 connections sending GET requests back to back (or ``pace``
    seconds apart), each one counted."""

    def __init__(self, port: int, connections: int, path: str = "/", pace: float = 0.0) -> None:
        self.port, self.path, self.pace = port, path, pace
        self.stop_event = threading.Event()
        self.started: list[list[float]] = [[] for _ in range(connections)]
        self.failures: list[tuple[float, str]] = []  # (when it failed, what went wrong)
        self.threads = [
            threading.Thread(target=self._run, args=(sent,), daemon=True) for sent in self.started
        ]
        for thread in self.threads:
            thread.start()

    def _run(self, sent: list[float]) -> None:
        conn: http.client.HTTPConnection | None = None
        while not self.stop_event.is_set():
            if conn is None:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            sent.append(time.monotonic())
            try:
                conn.request("GET", self.path)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    self.failures.append((time.monotonic(), f"HTTP {response.status}"))
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                self.failures.append((time.monotonic(), type(e).__name__))
                conn.close()
                conn = None
            if self.pace:
                self.stop_event.wait(self.pace)
        if conn is not None:
            conn.close()

    @property
    def requests(self) -> int:
        return sum(len(sent) for sent in self.started)

    def between(self, start: float, end: float) -> tuple[int, int]:
        """Requests sent in [start, end), and the failures seen then (a request sent just
        before and cut by a stop counts in the window of that stop)."""
        sent = sum(start <= t < end for times in self.started for t in times)
        return sent, sum(start <= t < end for t, _ in self.failures)

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(60)


@dataclass
class Restart:
    """One instance's SIGTERM, exit and return, as the load and HAProxy saw it."""

    name: str
    exit_code: int | None = None
    exited_before_down: bool = False  # HAProxy still had it UP when the process was gone
    window: tuple[float, float] = (0.0, 0.0)  # from the SIGTERM until HAProxy had it UP


@dataclass
class Result:
    label: str
    requests: int = 0
    failed: int = 0
    restarts: list[Restart] = field(default_factory=list)
    failed_in_restart: list[int] = field(default_factory=list)
    requests_in_restart: list[int] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)  # failures by kind
    seconds: float = 0.0


class Instances:
    """INSTANCES copies of one server, each on its own loopback port, behind HAProxy."""

    def __init__(self, argv: Callable[[int], list[str]], work: Path, cwd: Path) -> None:
        self.argv, self.work, self.cwd = argv, work, cwd
        self.ports = {f"s{n}": free_port() for n in range(INSTANCES)}
        self.processes: dict[str, Process] = {}
        for name in self.ports:
            self.start(name)

    def start(self, name: str) -> None:
        argv = self.argv(self.ports[name])
        self.processes[name] = Process(argv, self.work / f"{name}.log", self.cwd)

    def kill(self) -> None:
        for process in self.processes.values():
            process.kill()


def rolling_restart(
    label: str,
    argv: Callable[[int], list[str]],
    *,
    cwd: Path,
    check_path: str,
    work: Path,
    connections: int = 16,
    pace: float = 0.0,
    seconds: float = 0.0,
    retries: str = NO_RETRIES,
    stop_timeout: float = 60,
) -> Result:
    """Run the scenario once: ``argv(port)`` starts one instance. The load (``connections``,
    each sending ``pace`` seconds apart) runs for at least ``seconds`` (the restarts spread
    over it), and until each restarted instance has served requests again."""
    result = Result(label)
    instances = Instances(argv, work, cwd)
    haproxy = load = None
    try:
        haproxy = HAProxy(work, instances.ports, check_path, retries)
        for name in instances.ports:
            haproxy.wait_status(name, "UP")
        load = Load(haproxy.port, connections, pace=pace)
        began = time.monotonic()
        wait_for("the first responses", lambda: load.requests > connections, 30)
        spacing = seconds / (INSTANCES + 1)  # the restarts spread over the load, if they can
        for n, name in enumerate(instances.ports):
            time.sleep(max(0.0, began + spacing * (n + 1) - time.monotonic()))
            result.restarts.append(restart(instances, haproxy, name, stop_timeout))
        after = haproxy.servers()
        for name in instances.ports:  # each instance back in the rotation, serving
            served = int(after[name]["hrsp_2xx"])
            wait_for(
                f"{name} serving again",
                lambda name=name, served=served: int(haproxy.servers()[name]["hrsp_2xx"]) > served,
                30,
            )
        time.sleep(max(0.0, began + seconds - time.monotonic()))
        load.stop()
        result.seconds = time.monotonic() - began
    finally:
        if load is not None:
            load.stop()
        instances.kill()
        if haproxy is not None:
            haproxy.process.kill()
    assert load is not None
    result.requests, result.failed = load.requests, len(load.failures)
    for r in result.restarts:
        sent, failed = load.between(*r.window)
        result.requests_in_restart.append(sent)
        result.failed_in_restart.append(failed)
    for _, kind in load.failures:
        result.kinds[kind] = result.kinds.get(kind, 0) + 1
    return result


def restart(instances: Instances, haproxy: HAProxy, name: str, stop_timeout: float) -> Restart:
    """SIGTERM one instance, wait for its exit, start it again, wait until HAProxy has it UP."""
    process = instances.processes[name]
    r = Restart(name)
    began = time.monotonic()
    process.popen.send_signal(signal.SIGTERM)

    def down_or_gone() -> bool:
        return haproxy.status(name) == "DOWN" or not process.running()

    wait_for(f"{name} DOWN or exited", down_or_gone, stop_timeout)
    r.exited_before_down = haproxy.status(name) != "DOWN"
    with contextlib.suppress(subprocess.TimeoutExpired):
        r.exit_code = process.popen.wait(stop_timeout)
    # Started again only once HAProxy has it DOWN, so that UP below is the new process.
    try:
        haproxy.wait_status(name, "DOWN")
    except TimeoutError as e:
        row = haproxy.servers()[name]
        raise TimeoutError(
            f"{e}; exit code {process.popen.poll()}; HAProxy has {row['status']}"
            f" ({row['check_status']}); still in its process group: {process.group() or 'none'};"
            f" its output:\n{process.log.read_text()}"
        ) from None
    process.kill()  # a worker left behind would keep the port
    instances.start(name)
    haproxy.wait_status(name, "UP")
    r.window = (began, time.monotonic())
    return r


# -- what the benchmark compares -------------------------------------------------------------


def flaskd_argv(backend: str, drain_delay: float, app: str = "hello.py") -> Callable[[int], list]:
    def argv(port: int) -> list[str]:
        workers = [] if backend == "waitress" else ["--workers", str(WORKERS)]
        return [
            PY, "-m", "flaskd", "run", app, "--server", backend, "--port", str(port),
            "--threads", str(THREADS), *workers, "--ready-path", "/readyz",
            "--drain-delay", str(drain_delay),
        ]  # fmt: skip

    return argv


def bare_argv(backend: str) -> Callable[[int], list[str]]:
    def argv(port: int) -> list[str]:
        if backend == "waitress":
            return [PY, "-m", "waitress", f"--threads={THREADS}", f"--listen={HOST}:{port}",
                    "hello:app"]  # fmt: skip
        if backend == "gunicorn":
            return [PY, "-m", "gunicorn", "-w", str(WORKERS), "--threads", str(THREADS),
                    "-b", f"{HOST}:{port}", "hello:app"]  # fmt: skip
        return [PY, "-m", "granian", "--interface", "wsgi", "--host", HOST, "--port", str(port),
                "--workers", str(WORKERS), "--blocking-threads", str(THREADS),
                "--no-access-log", "hello:app"]  # fmt: skip

    return argv


BARE_LABELS = {"waitress": "waitress-serve", "gunicorn": "gunicorn", "granian": "granian"}


def row(result: Result, config: str) -> str:
    per_restart = " / ".join(str(n) for n in result.failed_in_restart)
    exits = " / ".join(str(r.exit_code) for r in result.restarts)
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(result.kinds.items())) or "-"
    return (
        f"| {result.label} | {config} | {result.seconds:.0f} s | {result.requests:,}"
        f" | {result.failed:,} | {per_restart} | {exits} | {kinds} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="load per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--drain-delay", type=float, default=3)
    parser.add_argument(
        "--haproxy", default="no-retries,redispatch",
        help="HAProxy configurations: no-retries (retries 0), redispatch (retries 3, redispatch)",
    )  # fmt: skip
    args = parser.parse_args()
    backends = args.backends.split(",")
    configs = {"no-retries": NO_RETRIES, "redispatch": REDISPATCH}
    chosen = args.haproxy.split(",")
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        sys.exit("haproxy is missing: apt-get install haproxy")

    rows = []
    for config in chosen:
        for backend in backends:
            for label, argv, check in (
                (f"flaskd {backend}", flaskd_argv(backend, args.drain_delay), "/readyz"),
                (f"bare {BARE_LABELS[backend]}", bare_argv(backend), "/"),
            ):
                with tempfile.TemporaryDirectory(prefix="rolling-") as work:
                    result = rolling_restart(
                        label, argv, cwd=BENCH / "apps", check_path=check, work=Path(work),
                        connections=args.connections, seconds=args.seconds,
                        retries=configs[config],
                    )  # fmt: skip
                print(row(result, config), file=sys.stderr, flush=True)
                rows.append(row(result, config))

    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("flask", "waitress", "gunicorn", "granian")
    )
    haproxy_version = subprocess.run(
        ["haproxy", "-v"], capture_output=True, text=True, check=False
    ).stdout.split("\n")[0]
    table = "\n".join(
        [
            "| server | HAProxy | load | requests | failed | failed in restart 1 / 2 / 3"
            " | exit codes | failures by kind |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    text = (
        f"# Rolling restart behind HAProxy\n\n"
        f"`python bench/rolling_restart.py --seconds {args.seconds:g} --connections"
        f" {args.connections} --drain-delay {args.drain_delay:g}`: {INSTANCES} instances, each"
        f" {THREADS} threads (gunicorn, granian: {WORKERS} workers), {args.connections}"
        f" keep-alive connections for {args.seconds:g} s, each instance in turn stopped with"
        f" SIGTERM and started again. HAProxy checks every {INTER_MS} ms, fall {FALL}, rise"
        f" {RISE}: flaskd on `--ready-path /readyz` with `--drain-delay"
        f" {args.drain_delay:g}`, the bare servers on `/`.\n\n{table}\n\n"
        f"{datetime.date.today()}, {os.cpu_count()} cores, {platform.platform()}, Python"
        f" {platform.python_version()}, {haproxy_version}, {versions}\n"
    )
    print("\n" + text)
    complete = set(backends) == set(BACKENDS) and set(chosen) == set(configs)
    name = "rolling_restart.md" if complete else "rolling_restart-partial.md"
    (RESULTS / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
