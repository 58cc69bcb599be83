#!/usr/bin/env python3
"""Stop a pre-fork flaskd server many times and count the workers that skip their shutdown hooks.

    python bench/soak_stop.py [--rounds 200] [--server granian] [--workers 2]
                              [--graceful-timeout 10] [--minutes 30]
                              [--stops ctrl-c,sigterm] [--traffic]

Each round starts `flaskd run bench/apps/lifecycle.py` on a free loopback port,
waits until it reports ready and answers, then stops it each way of --stops in
turn: "ctrl-c" (SIGINT to the whole process group), "sigterm" (SIGTERM to the
main process) or "sigquit" (SIGQUIT to the main process: the quick stop). With
--traffic, wrk sends requests from half a second before the signal until the
server is gone (a signal that finds a worker handing a request to a thread).
Every other turn of --stops runs with a CPU hog (a busy Python process) beside
it. A round misses when a worker that ran its start-up hook has no shutdown
line, when the server says it killed a worker (`KILLED`), when it exits with
another code than 0, or when it does not exit within the graceful timeout plus
15 s (then it is killed). Prints a table; exits 1 if any round missed.
Loopback only; stops starting rounds after --minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
APP = BENCH / "apps" / "lifecycle.py"
PY = sys.executable
HOST = "127.0.0.1"  # loopback only, always
KEPT = Path(tempfile.gettempdir()) / "soak-stop-missed"  # the output of the rounds that missed
STOPS = {
    "ctrl-c": "SIGINT to the process group",
    "sigterm": "SIGTERM to the main process",
    "sigquit": "SIGQUIT to the main process",
}
#: What the servers log when they kill a worker that did not stop in time.
KILLED = ("Killing", "was sent SIGKILL")  # granian, gunicorn
#: How long wrk sends requests before the signal, with --traffic.
TRAFFIC_LEAD = 0.5


@dataclass
class Row:
    """The results of the rounds with one way of stopping and one load."""

    stops: int = 0
    missing: int = 0  # rounds where a worker's shutdown line is missing
    killed: int = 0  # rounds where the server logged it killed a worker
    bad_exit: int = 0  # rounds that exited with another code than 0, or hung
    missed: int = 0  # rounds with any of the above
    seconds: list[float] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_ready(proc: subprocess.Popen[bytes], out: Path, port: int, deadline: float) -> bool:
    """Wait until the server said it serves and answers a request; False if it never does."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if "serving on" in out.read_text(errors="replace"):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://{HOST}:{port}/pid", timeout=5).read()
                return True
        time.sleep(0.02)
    return False


def one_stop(args: argparse.Namespace, how: str, work: Path, n: int) -> tuple[str, float]:
    """Start a server, stop it ``how``; the problems seen ("" if none) and the stop's duration."""
    log, out = work / f"hooks{n}", work / f"out{n}"
    port = free_port()
    wrk: subprocess.Popen[bytes] | None = None
    env = {**os.environ, "LIFECYCLE_LOG": str(log), "PYTHONUNBUFFERED": "1"}
    command = [PY, "-m", "flaskd", "run", str(APP), "--server", args.server]
    command += ["--port", str(port), "--workers", str(args.workers)]
    command += ["--graceful-timeout", str(args.graceful_timeout)]
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        if not wait_ready(proc, out, port, time.monotonic() + 60):
            return "never ready", 0.0
        if args.traffic:
            wrk = subprocess.Popen(
                ["wrk", "-t1", "-c8", "-d600s", f"http://{HOST}:{port}/pid"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(TRAFFIC_LEAD)
        began = time.monotonic()
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGQUIT if how == "sigquit" else signal.SIGTERM)
        try:
            code = proc.wait(args.graceful_timeout + 15)
        except subprocess.TimeoutExpired:
            return "hung", time.monotonic() - began
        took = time.monotonic() - began
    finally:
        if wrk is not None:
            wrk.kill()
            wrk.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    lines = log.read_text().splitlines() if log.exists() else []
    started = {line.split()[1] for line in lines if line.startswith("startup")}
    stopped = {line.split()[1] for line in lines if line.startswith("shutdown")}
    problems = []
    if len(started) < args.workers or started - stopped:
        problems.append(f"missing shutdown ({len(started - stopped)} of {len(started)})")
    if any(word in out.read_text(errors="replace") for word in KILLED):
        problems.append("killed")
    if code != 0:
        problems.append(f"exit {code}")
    return ", ".join(problems), took


def hog() -> subprocess.Popen[bytes]:
    return subprocess.Popen([PY, "-c", "while True: pass"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--server", default="granian", choices=["granian", "gunicorn"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--graceful-timeout", type=float, default=10)
    parser.add_argument("--minutes", type=float, default=30, help="stop starting rounds after")
    parser.add_argument(
        "--stops", default="ctrl-c,sigterm", help=f"ways to stop, in turn: {', '.join(STOPS)}"
    )
    parser.add_argument("--traffic", action="store_true", help="wrk sends requests meanwhile")
    args = parser.parse_args()
    stops = args.stops.split(",")
    if not set(stops) <= set(STOPS):
        parser.error(f"--stops: {args.stops!r}; each must be one of {', '.join(STOPS)}")
    if args.traffic and shutil.which("wrk") is None:
        parser.error("--traffic: wrk is not installed (apt-get install -y wrk)")

    rows = {(how, load): Row() for how in stops for load in ("idle", "hog")}
    end = time.monotonic() + args.minutes * 60
    busy: subprocess.Popen[bytes] | None = None
    with tempfile.TemporaryDirectory(prefix="soak-stop-") as tmp:
        try:
            for n in range(args.rounds):
                if time.monotonic() > end:
                    print(f"time is up after {n} rounds", file=sys.stderr)
                    break
                how = stops[n % len(stops)]
                load = "hog" if (n // len(stops)) % 2 else "idle"
                if load == "hog" and busy is None:
                    busy = hog()
                elif load == "idle" and busy is not None:
                    busy.kill()
                    busy.wait()
                    busy = None
                problems, took = one_stop(args, how, Path(tmp), n)
                row = rows[how, load]
                row.stops += 1
                row.seconds.append(took)
                row.missing += "missing" in problems or problems in ("hung", "never ready")
                row.killed += "killed" in problems
                row.bad_exit += "exit" in problems or problems == "hung"
                row.missed += bool(problems)
                if problems:
                    kept = KEPT / f"round{n}.log"
                    KEPT.mkdir(exist_ok=True)
                    shutil.copy(Path(tmp) / f"out{n}", kept)
                    print(f"round {n} ({how}, {load}): {problems}; see {kept}", file=sys.stderr)
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()

    traffic = ", wrk sending requests" if args.traffic else ""
    print(
        f"{args.server}, {args.workers} workers, --graceful-timeout {args.graceful_timeout}"
        + traffic
    )
    print("| stop | CPU hog | stops | shutdown line missing | worker killed | exit != 0 or hung "
          "| stop time median / max |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for (how, load), row in rows.items():
        times = "-"
        if row.seconds:
            times = f"{statistics.median(row.seconds):.2f} / {max(row.seconds):.2f} s"
        print(
            f"| {STOPS[how]} | {'yes' if load == 'hog' else 'no'} | {row.stops} | {row.missing}"
            f" | {row.killed} | {row.bad_exit} | {times} |"
        )
    total = sum(row.stops for row in rows.values())
    misses = sum(row.missed for row in rows.values())
    print(f"\n{total} stops, {misses} missed")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
