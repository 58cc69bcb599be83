#!/usr/bin/env python3
"""Benchmark `flaskd run --server X` against the bare server X, side by side.

    python bench/run.py [--quick] [--rounds N] [--backends waitress,gunicorn,granian]
                        [--apps hello,notes]

Method (see bench/README.md): OURS and BARE run at the same time, each server
and its own wrk pinned to one core, the cores swapped every round; the result
is the trimmed mean of log(ours/bare) over many 1-second rounds. Writes
bench/results/latest.{md,json,png}; server logs and wrk output go to
bench/results/raw/.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
RAW = RESULTS / "raw"
PY = sys.executable
HOST = "127.0.0.1"  # loopback only, always

THREADS = 4  # threads per server process, for OURS and BARE alike
WORKERS = 1  # processes per server: each server gets one core
CONNECTIONS = 16  # wrk connections in the paired rounds
ROUND_SECONDS = 1
SWEEP = (1, 16, 64, 256)  # connections in the concurrency sweep
TRIM = 0.10  # dropped from each side before averaging log(ours/bare)
TARGET_RATIO = 0.97  # flaskd must keep >= 97% of the bare server's throughput
DEV_TARGET = 5.0  # flaskd granian must reach >= 5x the Flask dev server
MAX_MINUTES = 30  # the whole run stops starting rounds after this


# -- what is benchmarked: one entry per app and per backend ----------------------------------


@dataclass(frozen=True)
class App:
    dir: Path  # working directory of every server
    script: str  # what `flaskd run` is given
    path: str  # the URL benchmarked
    bare: dict[str, list[str]]  # backend -> the app as the bare server is given it
    dev: str | None = None  # `flask --app` target for the dev server comparison
    db_env: str | None = None  # env var naming a seeded SQLite file, one per server


APPS = {
    "hello": App(
        BENCH / "apps",
        "hello.py",
        "/",
        {"waitress": ["hello:app"], "gunicorn": ["hello:app"], "granian": ["hello:app"]},
        dev="hello:app",
    ),
    "notes": App(
        ROOT / "examples" / "notes",
        "notes.py",
        "/notes",
        # the app needs its start-up hook, so bare servers call the factory
        {
            "waitress": ["--call", "notes:service.create_app"],
            "gunicorn": ["notes:create_app()"],
            "granian": ["--factory", "notes:create_app"],
        },
        db_env="NOTES_DB",
    ),
}


@dataclass(frozen=True)
class Backend:
    bare_label: str
    bare_argv: object  # (port) -> argv of the bare server, before the app target
    workers: bool = True  # takes a number of processes (flaskd --workers); waitress does not


BACKENDS = {
    "waitress": Backend(
        "waitress-serve",
        lambda port: [PY, "-m", "waitress", f"--threads={THREADS}", f"--listen={HOST}:{port}"],
        workers=False,
    ),
    "gunicorn": Backend(
        "gunicorn",
        lambda port: [
            PY,
            "-m",
            "gunicorn",
            "-w",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "-b",
            f"{HOST}:{port}",
        ],
    ),
    "granian": Backend(
        "granian",
        lambda port: [
            PY,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--blocking-threads",
            str(THREADS),
            "--no-access-log",
        ],
    ),
}


# -- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def pin(root: int, cpu: int) -> None:
    """Move every thread of a process tree to `cpu` (what `taskset -a -p -c` does)."""
    for pid in process_tree(root):
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                os.sched_setaffinity(int(tid), {cpu})
        except OSError:  # a thread or process that just ended
            pass


def rss_kib(root: int) -> tuple[int, int]:
    """Summed VmRSS of a process tree, and its number of processes."""
    total, pids = 0, process_tree(root)
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(m.group(1)) if m else 0
    return total, len(pids)


class Server:
    """One server, started pinned with `taskset -c`, in its own process group."""

    def __init__(
        self,
        label: str,
        argv: list[str],
        port: int,
        app: App,
        env: dict[str, str],
        cpu: int,
        log_name: str,
    ) -> None:
        self.label, self.argv, self.port = label, argv, port
        self.url = f"http://{HOST}:{port}{app.path}"
        self.log_path = RAW / f"{log_name}.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                ["taskset", "-c", str(cpu), *argv],
                cwd=app.dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url, timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        tail = self.log_path.read_text()[-1500:]
        raise RuntimeError(f"{self.label} did not answer {self.url}:\n{tail}")

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL after 10 s."""
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.proc.pid, sig)
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
                except ProcessLookupError:
                    break


# -- wrk ----------------------------------------------------------------------------------------


def wrk_argv(url: str, conns: int, seconds: int, cpu: int, latency: bool = False) -> list[str]:
    return [
        "taskset",
        "-c",
        str(cpu),
        "wrk",
        "-t1",
        f"-c{conns}",
        f"-d{seconds}s",
        "--timeout",
        "2s",
        *(["--latency"] if latency else []),
        url,
    ]


def parse_wrk(text: str) -> dict:
    def num(pattern: str) -> float:
        m = re.search(pattern, text)
        return float(m.group(1)) if m else 0.0

    errors = dict.fromkeys(("connect", "read", "write", "timeout"), 0)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors = dict(zip(errors, map(int, m.groups()), strict=True))
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": num(r"Requests/sec:\s+([\d.]+)"),
        "requests": int(num(r"(\d+) requests in")),
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else None,
        "socket_errors": errors,
        "non_2xx": int(num(r"Non-2xx or 3xx responses:\s+(\d+)")),
        "ok": "Requests/sec" in text,
    }


def listen_queue(port: int) -> int:
    """Connections the kernel accepted on `port` that the server has not accept()ed yet."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if f[3] == "0A" and int(f[1].split(":")[1], 16) == port:  # 0A: LISTEN
            return int(f[4].split(":")[1], 16)  # rx_queue of a listener: its accept queue
    return 0


def run_wrk(jobs: list[list[str]], seconds: int, ports: list[int] | None = None) -> list[dict]:
    """Run wrk commands at the same time; each is bounded by a timeout.

    With `ports` (one per job), also count the connections left waiting in each
    server's listen queue at 1/4, 1/2 and 3/4 of the run, and keep the smallest
    count: connections starved for the whole run, which wrk does not report.
    """
    start = time.monotonic()
    procs = [
        subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for a in jobs
    ]
    waiting = [[] for _ in jobs]
    for frac in (0.25, 0.5, 0.75) if ports else ():
        time.sleep(max(0.0, start + frac * seconds - time.monotonic()))
        for i, port in enumerate(ports):
            waiting[i].append(listen_queue(port))
    results = []
    with open(RAW / "wrk.log", "a") as log:
        for argv, p in zip(jobs, procs, strict=True):
            try:
                out = p.communicate(timeout=seconds + 15)[0]
            except subprocess.TimeoutExpired:
                p.kill()
                out = p.communicate()[0] + "\n(wrk killed after timeout)"
            log.write(f"$ {' '.join(argv)}\n{out}\n")
            results.append(parse_wrk(out))
    for r, w in zip(results, waiting, strict=True):
        r["unaccepted"] = min(w) if w else 0
    return results


# -- statistics -------------------------------------------------------------------------------


def trimmed_mean_se(xs: list[float], trim: float = TRIM) -> tuple[float, float]:
    """Trimmed mean and its standard error (winsorized SD / ((1 - 2g) sqrt n))."""
    n, s = len(xs), sorted(xs)
    k = int(n * trim)
    mean = statistics.fmean(s[k : n - k])
    if n < 2:
        return mean, float("nan")
    wins = [min(max(x, s[k]), s[n - k - 1]) for x in s]
    return mean, statistics.stdev(wins) / ((1 - 2 * k / n) * math.sqrt(n))


# -- one pair: OURS and BARE side by side -------------------------------------------------------


@dataclass
class Pair:
    app: str
    backend: str
    kind: str  # "bare" (flaskd vs bare server) or "dev" (flaskd vs Flask dev server)
    ours: tuple[str, object]  # label, (port) -> argv
    bare: tuple[str, object]
    result: dict = field(default_factory=dict)


def run_pair(
    pair: Pair, rounds: int, sweep_seconds: int, cores: list[int], tmp: Path, deadline: float
) -> dict:
    app = APPS[pair.app]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("FLASKD_")}
    base_env.update(PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")  # no __pycache__ in the repo
    servers = []
    try:
        for (label, make_argv), cpu, side in zip(
            (pair.ours, pair.bare), cores, ("ours", "bare"), strict=True
        ):
            env = dict(base_env)
            if app.db_env:
                env[app.db_env] = str(seed_db(tmp / f"{pair.app}-{pair.kind}-{side}.sqlite"))
            port = free_port()
            name = f"{pair.app}-{pair.backend}-{pair.kind}-{side}"
            servers.append(Server(label, make_argv(port), port, app, env, cpu, name))
        for s in servers:
            s.wait_ready()
        ours, bare = servers
        print(f"  {ours.label} vs {bare.label} on {app.script}{app.path}", flush=True)

        def place(i: int) -> tuple[int, int]:
            a, b = (cores[0], cores[1]) if i % 2 == 0 else (cores[1], cores[0])
            pin(ours.proc.pid, a)
            pin(bare.proc.pid, b)
            return a, b

        place(0)  # warm-up, not recorded
        run_wrk(
            [
                wrk_argv(s.url, CONNECTIONS, ROUND_SECONDS, c)
                for s, c in zip(servers, cores, strict=True)
            ],
            ROUND_SECONDS,
        )
        # Against the dev server, the paired rounds run at every sweep level: the two
        # servers peak at different concurrencies, and the target is judged at flaskd's peak.
        levels = []
        for conns in SWEEP if pair.kind == "dev" else (CONNECTIONS,):
            levels.append(paired_rounds(ours, bare, conns, rounds, place, deadline))
        judged = max(levels, key=lambda x: x["median_ours_rps"])
        sweep: dict[str, list] = {"ours": [], "bare": []}
        for conns in SWEEP:  # each level once on each placement, then merged
            runs = []
            for i in range(2):
                a, b = place(i)
                runs.append(
                    run_wrk(
                        [
                            wrk_argv(ours.url, conns, sweep_seconds, a, latency=True),
                            wrk_argv(bare.url, conns, sweep_seconds, b, latency=True),
                        ],
                        sweep_seconds,
                        [ours.port, bare.port],
                    )
                )
            for side, k in (("ours", 0), ("bare", 1)):
                sweep[side].append({"connections": conns, **merge(run[k] for run in runs)})
        rss = {side: rss_kib(s.proc.pid) for side, s in zip(("ours", "bare"), servers, strict=True)}
        target = TARGET_RATIO if pair.kind == "bare" else DEV_TARGET
        return {
            "app": pair.app,
            "backend": pair.backend,
            "kind": pair.kind,
            "ours": {"label": ours.label, "argv": ours.argv},
            "bare": {"label": bare.label, "argv": bare.argv},
            **judged,
            "levels": levels,
            "sweep": sweep,
            "rss_kib": {k: v[0] for k, v in rss.items()},
            "processes": {k: v[1] for k, v in rss.items()},
            "target": target,
            "target_applies": pair.kind == "bare" or pair.backend == "granian",
            "meets_target": judged["ratio"] >= target,
        }
    finally:
        for s in servers:
            s.stop()


def paired_rounds(
    ours: Server, bare: Server, conns: int, rounds: int, place: object, deadline: float
) -> dict:
    """`rounds` 1-second rounds of both servers at once at `conns` connections; their ratio."""
    records = []
    for i in range(rounds):
        if time.monotonic() > deadline:
            print(f"  time limit ({MAX_MINUTES} min) reached after {i} rounds")
            break
        a, b = place(i)
        o, r = run_wrk(
            [
                wrk_argv(ours.url, conns, ROUND_SECONDS, a),
                wrk_argv(bare.url, conns, ROUND_SECONDS, b),
            ],
            ROUND_SECONDS,
        )
        records.append(
            {
                "ours_cpu": a,
                "ours_rps": o["rps"],
                "bare_rps": r["rps"],
                "ours_errors": errors(o),
                "bare_errors": errors(r),
            }
        )
    # The cores are not alike (one is often 30% faster), so rounds 2j and 2j+1, one
    # on each placement, are averaged into one core-balanced value before trimming.
    logs = [
        math.log(x["ours_rps"] / x["bare_rps"]) if x["ours_rps"] and x["bare_rps"] else None
        for x in records
    ]
    balanced = [
        (x + y) / 2
        for x, y in zip(logs[0::2], logs[1::2], strict=False)
        if x is not None and y is not None
    ]
    if not balanced:
        raise RuntimeError(f"no complete pair of rounds for {ours.label}; see {RAW}")
    mean, se = trimmed_mean_se(balanced)
    return {
        "connections": conns,
        "rounds": records,
        "balanced_pairs": len(balanced),
        "log_ratio": mean,
        "log_ratio_se": se,
        "ratio": math.exp(mean),
        "ratio_low": math.exp(mean - 2 * se),
        "ratio_high": math.exp(mean + 2 * se),
        "median_ours_rps": statistics.median(x["ours_rps"] for x in records),
        "median_bare_rps": statistics.median(x["bare_rps"] for x in records),
        "round_errors": {
            "ours": sum(x["ours_errors"] for x in records),
            "bare": sum(x["bare_errors"] for x in records),
        },
    }


def merge(runs: object) -> dict:
    """One sweep level from its two runs: mean req/s, worse p99, errors added up."""
    a, b = runs
    p99s = [x["p99_ms"] for x in (a, b) if x["p99_ms"] is not None]
    return {
        "rps": (a["rps"] + b["rps"]) / 2,
        "requests": a["requests"] + b["requests"],
        "p99_ms": max(p99s) if len(p99s) == 2 else None,
        "socket_errors": {
            k: a["socket_errors"][k] + b["socket_errors"][k] for k in a["socket_errors"]
        },
        "non_2xx": a["non_2xx"] + b["non_2xx"],
        "ok": a["ok"] and b["ok"],
        "unaccepted": max(a["unaccepted"], b["unaccepted"]),
    }


def errors(w: dict) -> int:
    return sum(w["socket_errors"].values()) + w["non_2xx"] + (0 if w["ok"] else 1)


def seed_db(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
        db.executemany(
            "INSERT INTO notes (text) VALUES (?)",
            [(f"note number {i}: buy milk",) for i in range(20)],
        )
    return path


# -- set-up: tools, backends, plan ------------------------------------------------------------


def ensure_tools() -> object:
    for module in ("flaskd", "gunicorn", "granian"):
        if importlib.util.find_spec(module) is None:
            sys.exit(
                f"{module} is not installed for {PY}: run the benchmark with the project's"
                " venv, .venv/bin/python bench/run.py (./scripts/test makes it)"
            )
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install -y wrk", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=300)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, timeout=300)
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is missing: pip install -r bench/requirements.txt", flush=True)
        subprocess.run(
            [PY, "-m", "pip", "install", "-q", "-r", str(BENCH / "requirements.txt")],
            check=True,
            timeout=600,
        )
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def probe(backend: str) -> tuple[bool, str, dict]:
    """flaskd's resolved serving settings for --server BACKEND (or why it refused it)."""
    app = APPS["hello"]
    p = subprocess.run(
        [PY, "-m", "flaskd", "config", app.script, "--server", backend, "--json"],
        cwd=app.dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if p.returncode != 0:
        return False, (p.stderr.strip().splitlines() or ["?"])[-1], {}
    return True, "", {k: v["value"] for k, v in json.loads(p.stdout)["serve"].items()}


def flaskd_argv(app: App, backend: str, settings: dict, options: Sequence[str] = ()) -> object:
    """(port) -> argv of `flaskd run` for ``app`` on ``backend``, with ``options`` added."""
    workers = BACKENDS[backend].workers and "workers" in settings
    extra = ["--workers", str(WORKERS)] if workers else []
    extra += options
    return lambda port: [
        PY,
        "-m",
        "flaskd",
        "run",
        app.script,
        "--server",
        backend,
        "--host",
        HOST,
        "--port",
        str(port),
        "--threads",
        str(THREADS),
        *extra,
    ]


def plan(
    apps: list[str], backends: list[str], options: Sequence[str] = ()
) -> tuple[list[Pair], dict]:
    pairs, settings = [], {}
    for name in backends:
        ok, message, serve = probe(name)
        if not ok:
            sys.exit(f"flaskd config --server {name} failed: {message}")
        settings[name] = serve
    for a in apps:
        for name in settings:
            pairs.append(
                Pair(
                    a,
                    name,
                    "bare",
                    (f"flaskd {name}", flaskd_argv(APPS[a], name, settings[name], options)),
                    (
                        BACKENDS[name].bare_label,
                        lambda port, a=a, name=name: [
                            *BACKENDS[name].bare_argv(port),
                            *APPS[a].bare[name],
                        ],
                    ),
                )
            )
    if "hello" in apps and settings:
        name = "granian" if "granian" in settings else next(iter(settings))
        dev_argv = [PY, "-m", "flask", "--app", APPS["hello"].dev, "run", "--host", HOST]
        pairs.append(
            Pair(
                "hello",
                name,
                "dev",
                (f"flaskd {name}", flaskd_argv(APPS["hello"], name, settings[name], options)),
                ("flask run (dev)", lambda port: [*dev_argv, "--port", str(port)]),
            )
        )
    return pairs, settings


def cpu_busy(seconds: float = 1.0) -> float:
    """Share of CPU time not idle over `seconds`, from /proc/stat."""

    def sample() -> list[int]:
        return [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]

    a = sample()
    time.sleep(seconds)
    d = [y - x for x, y in zip(a, sample(), strict=True)]
    return 1 - (d[3] + d[4]) / max(1, sum(d))  # fields 4 and 5: idle, iowait


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    versions = {}
    for pkg in ("flaskd", "flask", "werkzeug", "waitress", "gunicorn", "granian", "matplotlib"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": model.group(1).strip() if model else "?",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": (wrk.stdout + wrk.stderr).split(" [")[0].strip(),
        "packages": versions,
        "busy_before": cpu_busy(),
    }


# -- report -----------------------------------------------------------------------------------


def write_markdown(data: dict) -> str:
    m, s = data["machine"], data["settings"]
    pkgs = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    out = [
        "# flaskd benchmark: latest run",
        "",
        f"`{data['command']}`",
        "",
        "| machine | |",
        "|---|---|",
        f"| date | {m['date']} |",
        f"| nproc | {m['nproc']} |",
        f"| CPU | {m['cpu']} |",
        f"| kernel | {m['kernel']} |",
        f"| Python | {m['python']} |",
        f"| wrk | {m['wrk']} |",
        f"| CPU busy just before the run (1 s, all cores) | {m['busy_before']:.0%} |",
        f"| packages | {pkgs} |",
        "",
        f"Settings: {s['threads']} threads, {s['workers']} worker per server; paired rounds of "
        f"{s['round_seconds']} s with {s['connections']} connections (against the dev server: at "
        f"every sweep level), {s['rounds']} rounds, "
        f"{int(TRIM * 100)}% of the core-balanced pairs of rounds trimmed from each side; "
        f"sweep: each level {s['sweep_seconds']} s on each placement (req/s averaged, p99 "
        "the worse of the two). "
        "See bench/README.md for the method.",
        "",
        "## flaskd vs the bare server (both at once, cores swapped every round)",
        "",
        "| app | backend | flaskd / bare | SE (log) | ±2 SE | median flaskd req/s "
        "| median bare req/s | pairs of rounds | errors (flaskd/bare) | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["pairs"]:
        verdict = verdict_of(r)
        row = (
            f"| {r['ratio']:.3f} | {r['log_ratio_se']:.3f} | {r['ratio_low']:.3f} to "
            f"{r['ratio_high']:.3f} | {r['median_ours_rps']:.0f} | {r['median_bare_rps']:.0f}"
            f" | {r['balanced_pairs']} | {r['round_errors']['ours']}/{r['round_errors']['bare']}"
            f" | ≥ {r['target']:g}: {verdict} |"
        )
        if r["kind"] == "bare":
            out.append(f"| {r['app']} | {r['backend']} ({r['bare']['label']}) {row}")
    dev = [r for r in data["pairs"] if r["kind"] == "dev"]
    if dev:
        out += [
            "",
            "## flaskd vs the Flask dev server (hello)",
            "",
            "Paired rounds at every level of the sweep; the target is judged at the level "
            "where flaskd serves the most (marked *judged*).",
            "",
            "| flaskd backend | connections | flaskd / dev | SE (log) | ±2 SE "
            "| median flaskd req/s | median dev req/s | pairs of rounds | errors (flaskd/dev) "
            "| target |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in dev:
            for level in r["levels"]:
                row = (
                    f"| {level['ratio']:.2f} | {level['log_ratio_se']:.3f} | "
                    f"{level['ratio_low']:.2f} to {level['ratio_high']:.2f} | "
                    f"{level['median_ours_rps']:.0f} | {level['median_bare_rps']:.0f} | "
                    f"{level['balanced_pairs']} | "
                    f"{level['round_errors']['ours']}/{level['round_errors']['bare']} | "
                )
                if level["connections"] != r["connections"]:
                    target = ""
                elif r["target_applies"]:
                    target = f"*judged*: ≥ {DEV_TARGET:g}x: {verdict_of(r)}"
                else:
                    target = f"the ≥ {DEV_TARGET:g}x target is for granian"
                out.append(f"| {r['backend']} | {level['connections']} {row}{target} |")
    out += [
        "",
        "## Concurrency sweep (wrk --latency; both servers at once)",
        "",
        "| app | server | connections | req/s | p99 ms | socket errors "
        "(connect/read/write/timeout) | non-2xx | left unaccepted |",
        "|---|---|---|---|---|---|---|---|",
    ]
    clean = []
    for r in data["pairs"]:
        for side in ("ours", "bare"):
            if r["kind"] == "dev" and side == "ours":
                continue  # the same flaskd server is in the "bare" pair's rows
            for w in r["sweep"][side]:
                e = w["socket_errors"]
                p99 = f"{w['p99_ms']:.1f}" if w["p99_ms"] is not None else "?"
                out.append(
                    f"| {r['app']} | {r[side]['label']} | {w['connections']} | "
                    f"{w['rps']:.0f} | {p99} | {e['connect']}/{e['read']}/{e['write']}/"
                    f"{e['timeout']} | {w['non_2xx']} | {w['unaccepted']} |"
                )
            top = r["sweep"][side][-1]
            bad = sum(top["socket_errors"].values()) + top["non_2xx"] + (not top["ok"])
            verdict = "no errors or dropped connections" if not bad else f"**{bad} errors**"
            if top["unaccepted"]:
                verdict += (
                    f"; **{top['unaccepted']} connections left unaccepted** (in the"
                    " listen queue at every sample: not served, and not counted by wrk)"
                )
            clean.append(
                f"- {r['app']}, {r[side]['label']}, {top['connections']} connections: " + verdict
            )
    out += [
        "",
        '"left unaccepted": connections in the server\'s listen queue at each of 3 '
        "samples (1/4, 1/2, 3/4 of the run), the larger of the two placements.",
        "",
        *dict.fromkeys(clean),
        "",
        "## Memory after the load",
        "",
        "| app | server | RSS MiB (process tree) | processes |",
        "|---|---|---|---|",
    ]
    for r in data["pairs"]:
        for side in ("ours", "bare"):
            out.append(
                f"| {r['app']} | {r[side]['label']} | {r['rss_kib'][side] / 1024:.1f} | "
                f"{r['processes'][side]} |"
            )
    if data["failed"]:
        out += ["", "## Failed to start", ""]
        out += [
            f"- {x['app']} / {x['backend']} (vs {x['kind']}): " + " ".join(x["error"].split())
            for x in data["failed"]
        ]
    out += ["", "Raw numbers: `latest.json`; chart: `latest.png`.", ""]
    return "\n".join(out)


def verdict_of(r: dict) -> str:
    if r["meets_target"]:
        return "ok"
    return "below, within noise" if r["ratio_high"] >= r["target"] else "**below**"


def readme_summary(data: dict) -> str:
    """The short table the project's README shows, between its bench-table markers."""
    m = data["machine"]
    out = [
        f"Measured {m['date']} with `{data['command'].strip()}` on {m['nproc']} cores "
        f"({m['cpu']}), Linux {m['kernel']}, Python {m['python']}; full results in "
        "[bench/results/latest.md](bench/results/latest.md).",
        "",
        "| app | compared | ratio (±2 SE) | req/s, median "
        "| errors + unaccepted at 256 connections |",
        "|---|---|---|---|---|",
    ]
    for r in data["pairs"]:
        top = [r["sweep"][side][-1] for side in ("ours", "bare")]
        bad = [sum(t["socket_errors"].values()) + t["non_2xx"] + t["unaccepted"] for t in top]
        ratio = f"{r['ratio']:.3f} ({r['ratio_low']:.3f} to {r['ratio_high']:.3f})"
        if r["kind"] == "dev":
            ratio = "; ".join(f"{x['ratio']:.2f}x at {x['connections']}" for x in r["levels"])
            ratio += " connections"
        out.append(
            f"| {r['app']} | flaskd {r['backend']} / {r['bare']['label']} | {ratio} | "
            f"{r['median_ours_rps']:.0f} / {r['median_bare_rps']:.0f} | "
            f"{bad[0]} / {bad[1]} |"
        )
    return "\n".join(out)


def update_readme(data: dict) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    new = re.sub(
        r"(<!-- bench-table:.*?-->\n).*?(<!-- end bench-table -->)",
        lambda m: m[1] + readme_summary(data) + "\n" + m[2],
        text,
        flags=re.S,
    )
    if new != text:
        readme.write_text(new)


def write_chart(plt: object, data: dict, path: Path) -> None:
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16, 5))
    bare = [r for r in data["pairs"] if r["kind"] == "bare"]
    names = [f"{r['app']}\n{r['backend']}" for r in bare]
    ratios = [r["ratio"] for r in bare]
    err = [
        [r["ratio"] - r["ratio_low"] for r in bare],
        [r["ratio_high"] - r["ratio"] for r in bare],
    ]
    ax1.bar(names, ratios, yerr=err, capsize=6, color="tab:blue")
    ax1.axhline(TARGET_RATIO, color="tab:red", linestyle="--", label=f"target {TARGET_RATIO}")
    ax1.axhline(1.0, color="grey", linewidth=0.8)
    ax1.set_ylim(
        min([0.8] + [r["ratio_low"] for r in bare]) - 0.02,
        max([1.1] + [r["ratio_high"] for r in bare]) + 0.02,
    )
    ax1.set_title("flaskd / bare server throughput (±2 SE)")
    ax1.legend()
    # One color per server, one line style per app (tab10 has more colors than servers).
    colors: dict[str, str] = {}
    seen = set()
    for r in data["pairs"]:
        for side in ("ours", "bare"):
            key = (r["app"], r[side]["label"])
            if key in seen:
                continue
            seen.add(key)
            xs = [w["connections"] for w in r["sweep"][side]]
            style = {
                "color": colors.setdefault(r[side]["label"], f"C{len(colors)}"),
                "linestyle": "-" if r["app"] == "hello" else ":",
                "marker": "o" if side == "ours" else "s",
                "label": f"{r['app']}: {r[side]['label']}",
            }
            ax2.plot(xs, [w["rps"] for w in r["sweep"][side]], **style)
            ax3.plot(xs, [w["p99_ms"] or float("nan") for w in r["sweep"][side]], **style)
    for ax, title in ((ax2, "throughput, req/s"), (ax3, "p99 latency, ms")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(SWEEP, [str(c) for c in SWEEP])
        ax.set_xlabel("connections")
        ax.set_title(title)
    ax3.set_yscale("log")
    ax2.legend(fontsize=7)
    fig.suptitle(
        f"flaskd benchmark, {data['machine']['date']}, {data['machine']['cpu']}, "
        f"{data['machine']['nproc']} cores"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# -- main -------------------------------------------------------------------------------------


def names(text: str, known: dict) -> list[str]:
    chosen = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in chosen if x not in known]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {unknown}; known: {', '.join(known)}")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 rounds and short sweep levels")
    parser.add_argument("--rounds", type=int, help="paired 1-second rounds (default 30, quick 8)")
    parser.add_argument(
        "--backends",
        type=lambda t: names(t, BACKENDS),
        default=list(BACKENDS),
        help="default: " + ",".join(BACKENDS),
    )
    parser.add_argument(
        "--apps",
        type=lambda t: names(t, APPS),
        default=list(APPS),
        help="default: " + ",".join(APPS),
    )
    parser.add_argument(
        "--flaskd-options",
        type=shlex.split,
        default=[],
        metavar="'OPTIONS'",
        help="more options for flaskd run, in one quoted argument (e.g. '--ready-path /readyz')",
    )
    args = parser.parse_args()
    rounds = args.rounds or (8 if args.quick else 30)
    if not 2 <= rounds <= 1000:
        parser.error("--rounds must be from 2 to 1000 (they are used in pairs)")
    sweep_seconds = 2 if args.quick else 3
    cores = sorted(os.sched_getaffinity(0))[:2]
    if len(cores) < 2:
        sys.exit("the paired method needs 2 cores")
    plt = ensure_tools()
    RAW.mkdir(parents=True, exist_ok=True)
    (RAW / "wrk.log").write_text("")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks run

    before = machine()  # measured before our own load
    if before["busy_before"] > 0.1:
        print(
            f"warning: the CPU is {before['busy_before']:.0%} busy with other work, which adds"
            " noise that pinning cannot remove"
        )
    pairs, settings = plan(args.apps, args.backends, args.flaskd_options)
    deadline = time.monotonic() + MAX_MINUTES * 60
    started = time.monotonic()
    results, failed = [], []
    with tempfile.TemporaryDirectory(prefix="flaskd-bench-") as tmp:
        for p in pairs:
            print(f"[{p.app} / {p.backend} / vs {p.kind}]", flush=True)
            try:
                r = run_pair(p, rounds, sweep_seconds, cores, Path(tmp), deadline)
            except RuntimeError as e:  # a server that did not start: go on with the others
                print(f"  FAILED: {e}", flush=True)
                failed.append(
                    {"app": p.app, "backend": p.backend, "kind": p.kind, "error": str(e).strip()}
                )
                continue
            print(
                f"  ratio {r['ratio']:.3f} (SE {r['log_ratio_se']:.3f}); median req/s "
                f"{r['median_ours_rps']:.0f} vs {r['median_bare_rps']:.0f}",
                flush=True,
            )
            results.append(r)
    data = {
        "command": "python bench/run.py " + " ".join(sys.argv[1:]),
        "machine": before,
        "settings": {
            "threads": THREADS,
            "workers": WORKERS,
            "connections": CONNECTIONS,
            "round_seconds": ROUND_SECONDS,
            "rounds": rounds,
            "trim": TRIM,
            "sweep": SWEEP,
            "sweep_seconds": sweep_seconds,
            "cores": cores,
            "flaskd_serve_settings": settings,
        },
        "pairs": results,
        "failed": failed,
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    # Only a complete run replaces the published results and the README's table.
    full = (
        rounds == 30
        and not args.quick
        and not failed
        and args.backends == list(BACKENDS)
        and args.apps == list(APPS)
        and not args.flaskd_options
    )
    name = "latest" if full else "partial"
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(write_markdown(data))
    write_chart(plt, data, RESULTS / f"{name}.png")
    if full:
        update_readme(data)
    print(
        f"\nwrote {RESULTS / name}.md, .json, .png ({data['wall_seconds']:.0f} s)"
        + ("" if full else "; a partial run leaves latest.* and the README's table alone")
        + "\n"
    )
    print(write_markdown(data))


if __name__ == "__main__":
    main()
