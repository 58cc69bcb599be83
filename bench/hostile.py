#!/usr/bin/env python3
"""Hostile clients against flaskd and the bare servers: does a normal client still get served?

    python bench/hostile.py [--quick] [--targets flaskd-waitress,gunicorn,...] [--write]

For each server (flaskd on waitress, gunicorn with 2 workers, granian with 2
workers, and waitress-serve, gunicorn, granian with their defaults) and each
scenario:

  partial   64 connections send half a request head and then nothing
  trickle   64 connections send a head one byte a second, forever
  silent    2,000 connections send nothing at all
  busy      1,000 kept-alive connections each send a normal request every 2 s

a prober makes one normal request (a new connection) every 0.5 s. The table
gives the share of probes answered within 1 s, their p50 and p99 latency, and
how long the hostile connections stayed open: how many the server closed, and
the median and longest time until it did. Everything is on loopback, bounded
in time and count; the whole run takes about 10 minutes (``--quick``: about 2,
with short scenarios and short flaskd timeouts). ``--write`` also writes the
table to bench/results/hostile.md and the README.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import platform
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
APPS = BENCH / "apps"
RESULT = BENCH / "results" / "hostile.md"
PY = sys.executable
HOST = "127.0.0.1"  # loopback only, always
WORKERS = 2
THREADS = 4
PROBE_EVERY = 0.5
PROBE_OK = 1.0  # a probe answered within this many seconds counts as served
PROBE_TIMEOUT = 5.0
BUSY_EVERY = 2.0  # seconds between two requests of one busy connection
#: Seconds each scenario lasts: long enough to see the header timeout (10 s) and the idle
#: timeout (30 s) at work with flaskd's defaults.
SECONDS = {"partial": 25.0, "trickle": 25.0, "silent": 40.0, "busy": 15.0}
#: --quick: short scenarios, and flaskd given timeouts short enough to be seen in them.
QUICK_SECONDS = {"partial": 5.0, "trickle": 5.0, "silent": 7.0, "busy": 4.0}
QUICK_FLASKD = ["--header-timeout", "2", "--idle-timeout", "4"]
COUNTS = {"partial": 64, "trickle": 64, "silent": 2000, "busy": 1000}


# -- servers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    argv: Callable[[int, list[str]], list[str]]  # (port, flaskd's extra flags) -> argv


def _flaskd(backend: str) -> Callable[[int, list[str]], list[str]]:
    def argv(port: int, extra: list[str]) -> list[str]:
        workers = [] if backend == "waitress" else ["--workers", str(WORKERS)]
        return [
            *(PY, "-m", "flaskd", "run", "hello.py", "--server", backend, "--port", str(port)),
            *("--threads", str(THREADS), *workers, *extra),
        ]

    return argv


TARGETS = {
    t.name: t
    for t in (
        Target("flaskd-waitress", _flaskd("waitress")),
        Target("flaskd-gunicorn", _flaskd("gunicorn")),
        Target("flaskd-granian", _flaskd("granian")),
        Target(
            "waitress-serve",
            lambda port, _: [
                *(PY, "-m", "waitress", f"--threads={THREADS}", f"--listen={HOST}:{port}"),
                "hello:app",
            ],
        ),
        Target(
            "gunicorn",
            lambda port, _: [
                *(PY, "-m", "gunicorn", "-k", "gthread", "-w", str(WORKERS)),
                *("--threads", str(THREADS), "-b", f"{HOST}:{port}", "hello:app"),
            ],
        ),
        Target(
            "granian",
            lambda port, _: [
                *(PY, "-m", "granian", "--interface", "wsgi", "--host", HOST),
                *("--port", str(port), "--workers", str(WORKERS)),
                *("--blocking-threads", str(THREADS), "--no-access-log", "hello:app"),
            ],
        ),
    )
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """A server process in its own process group, its output in a temporary log."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            argv, cwd=APPS, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, url: str, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                return True
            except OSError:
                time.sleep(0.1)
        return False

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


# -- clients ----------------------------------------------------------------------------------

PROBE = b"GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n"
REQUEST = b"GET / HTTP/1.1\r\nHost: busy\r\n\r\n"
PARTIAL = b"GET / HTTP/1.1\r\nHost: slow\r\n"
TRICKLE = PARTIAL + b"X-Slow: " + b"a" * 8000  # never ends within a scenario


@dataclass
class Outcome:
    probes: list[float | None] = field(default_factory=list)  # latency, None if not answered
    lifetimes: list[float | None] = field(default_factory=list)  # None: still open at the end
    opened: int = 0  # hostile connections the server accepted
    busy_ok: int = 0
    busy_failed: int = 0
    busy_reconnects: int = 0


async def probe(port: int, outcome: Outcome, stop: asyncio.Event) -> None:
    """One normal request every PROBE_EVERY seconds, each on a new connection."""

    async def one() -> None:
        started = time.monotonic()
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                reader, writer = await asyncio.open_connection(HOST, port)
                writer.write(PROBE)
                answer = await reader.read()
                writer.close()
            ok = answer.startswith(b"HTTP/1.1 200")
        except (OSError, TimeoutError):
            ok = False
        outcome.probes.append(time.monotonic() - started if ok else None)

    tasks = []
    while not stop.is_set():
        tasks.append(asyncio.create_task(one()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), PROBE_EVERY)
    await asyncio.gather(*tasks)


async def hostile(port: int, kind: str, outcome: Outcome, stop: asyncio.Event) -> None:
    """One hostile connection: note how long it stays open until the server closes it."""
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        return
    outcome.opened += 1
    opened = time.monotonic()
    closed = asyncio.Event()

    async def send() -> None:
        if kind == "partial":
            writer.write(PARTIAL)
        elif kind == "trickle":
            for byte in TRICKLE:
                writer.write(bytes([byte]))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), 1.0)
                if closed.is_set() or stop.is_set():
                    return

    sender = asyncio.create_task(send())
    lifetime: float | None = None
    reading = asyncio.create_task(reader.read())
    ending = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([reading, ending], return_when=asyncio.FIRST_COMPLETED)
        if reading.done():
            lifetime = time.monotonic() - opened
    except OSError:
        lifetime = time.monotonic() - opened
    finally:
        closed.set()
        for task in (reading, ending, sender):
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(reading, sender, return_exceptions=True)
        writer.close()
    outcome.lifetimes.append(lifetime)


async def busy(port: int, outcome: Outcome, stop: asyncio.Event) -> None:
    """A normal client on a kept-alive connection: a request every BUSY_EVERY seconds. Like
    an HTTP library, it reconnects once when the server closed the connection it kept."""
    writer = None
    try:
        while not stop.is_set():
            for attempt in (1, 2):
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, port)
                try:
                    async with asyncio.timeout(PROBE_TIMEOUT):
                        writer.write(REQUEST)
                        head = await reader.readuntil(b"\r\n\r\n")
                        length = 0
                        for line in head.split(b"\r\n"):
                            if line.lower().startswith(b"content-length:"):
                                length = int(line.split(b":")[1])
                        await reader.readexactly(length)
                    break
                except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError):
                    writer.close()
                    writer = None
                    if attempt == 2:
                        raise
                    outcome.busy_reconnects += 1
            outcome.busy_ok += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), BUSY_EVERY)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        outcome.busy_failed += 1
    finally:
        if writer is not None:
            writer.close()


async def scenario(port: int, kind: str, seconds: float) -> Outcome:
    outcome = Outcome()
    stop = asyncio.Event()
    count = COUNTS[kind]
    clients = []
    for i in range(count):  # opened over the first second, as a burst would be
        task = busy(port, outcome, stop) if kind == "busy" else hostile(port, kind, outcome, stop)
        clients.append(asyncio.create_task(task))
        if i % max(1, count // 20) == 0:
            await asyncio.sleep(0.05)
    prober = asyncio.create_task(probe(port, outcome, stop))
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(prober, *clients)
    return outcome


# -- report -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(target: str, kind: str, seconds: float, o: Outcome) -> str:
    answered = [p for p in o.probes if p is not None]
    within = sum(1 for p in answered if p <= PROBE_OK)
    share = f"{100 * within / len(o.probes):.0f}% of {len(o.probes)}" if o.probes else "-"
    if answered and len(answered) == len(o.probes):
        latency = (
            f"{percentile(answered, 0.5) * 1000:.0f} / {percentile(answered, 0.99) * 1000:.0f}"
        )
    elif answered:
        latency = f"{percentile(answered, 0.5) * 1000:.0f} / lost"
    else:
        latency = "lost"
    if kind == "busy":
        held = (
            f"busy: {o.busy_ok} answered, {o.busy_reconnects} reconnections,"
            f" {o.busy_failed} connections failed"
        )
    else:
        closed = [t for t in o.lifetimes if t is not None]
        held = f"{len(closed)} of {len(o.lifetimes)} closed"
        if closed:
            held += f", median {statistics.median(closed):.1f} s, last {max(closed):.1f} s"
        if len(closed) < len(o.lifetimes):
            held += f"; {len(o.lifetimes) - len(closed)} open after {seconds:.0f} s"
    return f"| {target} | {kind} {COUNTS[kind]} | {share} | {latency} | {held} |"


def header(quick: bool) -> list[str]:
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python bench/hostile.py" + (" --quick" if quick else "")
    flaskd = (
        "flaskd with `" + " ".join(QUICK_FLASKD) + "`"
        if quick
        else "flaskd with its defaults (header timeout 10 s, idle timeout 30 s)"
    )
    return [
        f"Measured {when} with `{command}` on {os.cpu_count()} cores,"
        f" Linux {platform.release()}, Python {platform.python_version()};"
        f" {flaskd}; {WORKERS} workers for gunicorn and granian, {THREADS} threads.",
        "",
        "| server | scenario | probes answered within 1 s | probe p50 / p99 ms"
        " | hostile connections closed by the server |",
        "|---|---|---|---|---|",
    ]


def update_readme(table: str) -> None:
    """Put ``table`` in the README, between its hostile-table markers."""
    readme = BENCH.parent / "README.md"
    text = readme.read_text()
    new = re.sub(
        r"(<!-- hostile-table:.*?-->\n).*?(<!-- end hostile-table -->)",
        lambda m: m[1] + table + "\n" + m[2],
        text,
        flags=re.S,
    )
    readme.write_text(new)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 2 minutes instead of 10")
    parser.add_argument(
        "--targets", default=",".join(TARGETS), help="comma-separated: " + ", ".join(TARGETS)
    )
    parser.add_argument("--scenarios", default=",".join(SECONDS), help="partial,trickle,...")
    parser.add_argument(
        "--write", action="store_true", help=f"also write {RESULT} and the README's table"
    )
    args = parser.parse_args()
    targets = [TARGETS[name] for name in args.targets.split(",")]
    kinds = args.scenarios.split(",")
    seconds = QUICK_SECONDS if args.quick else SECONDS

    # 2,000 silent and 1,000 busy sockets here, and as many in each server (which inherits it).
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 16384), hard))

    lines = header(args.quick)
    print("\n".join(lines), flush=True)
    logs = BENCH / "results" / "raw"
    logs.mkdir(parents=True, exist_ok=True)
    for target in targets:
        port = free_port()
        extra = QUICK_FLASKD if args.quick else []
        server = Server(target.argv(port, extra), logs / f"hostile-{target.name}.log")
        try:
            if not server.wait_ready(f"http://{HOST}:{port}/"):
                line = f"| {target.name} | - | did not start | - | see {server.log.name} |"
                lines.append(line)
                print(line, flush=True)
                continue
            for kind in kinds:
                outcome = asyncio.run(scenario(port, kind, seconds[kind]))
                line = row(target.name, kind, seconds[kind], outcome)
                lines.append(line)
                print(line, flush=True)
                time.sleep(1.0)  # the server closes what the clients left
        finally:
            server.stop()
    if args.write:
        RESULT.write_text("# Hostile clients\n\n" + "\n".join(lines) + "\n")
        update_readme("\n".join(lines))
        print(f"written to {RESULT} and README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
