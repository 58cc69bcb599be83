"""How fast `flaskd migrate` goes over a tree of scripts, in diff mode (nothing written).

    .venv/bin/python bench/migrate_speed.py [DIR ...] [--rounds N] [--against SRC]

Runs the real command over DIR (default: bench/migrate_corpus, Flask scripts shaped like
real ones) N times (default 5) and prints the median wall and CPU time of a run, their
spread, and the time each file takes (min, median and max over the files; each file's time
is its median over the rounds, measured in a separate process that converts the files one
by one, after a first pass). With ``--against SRC``, the ``src`` directory of another checkout (a
``git worktree`` of the commit before a change), that code runs in turn with this one, in
alternating order round by round so that both see the same machine, and the ratio of the
medians is printed. On a shared machine, the CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
CORPUS = HERE / "migrate_corpus"

#: Run with a checkout's flaskd: convert each file alone (after a first pass for the imports
#: done on first use), print its CPU seconds as JSON.
PER_FILE = """
import json, sys, time
from pathlib import Path
from flaskd.migrate import files
from flaskd.migrate._registry import RULES
paths = list(files.python_files([Path(p) for p in sys.argv[1:]]))
for path in paths:  # a first pass for the imports done on first use
    files.migrate_file(files.Job(path, None, tuple(RULES)))
times = {}
for path in paths:
    start = time.process_time()
    files.migrate_file(files.Job(path, None, tuple(RULES)))
    times[str(path)] = time.process_time() - start
print(json.dumps(times))
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(dirs: list[Path], src: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds the command took with flaskd from ``src``, and its summary."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    cpu = _children_cpu()
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "flaskd", "migrate", "--diff", *map(str, dirs)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    elapsed = time.perf_counter() - start
    summary = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    return elapsed, _children_cpu() - cpu, f"{summary} (exit {result.returncode})"


def per_file(dirs: list[Path], src: Path) -> dict[str, float]:
    """CPU seconds each file takes to migrate with flaskd from ``src`` (imports excluded)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", PER_FILE, *map(str, dirs)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    times: dict[str, float] = json.loads(out)
    return times


def spread(values: list[float]) -> str:
    median = statistics.median(values)
    return f"median {median:.2f} s (min {min(values):.2f}, max {max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path, metavar="DIR")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--against", type=Path, metavar="SRC", help="another checkout's src/")
    args = parser.parse_args()
    dirs = args.dirs or [CORPUS]
    files = sum(1 for d in dirs for _ in d.rglob("*.py"))
    size = sum(p.stat().st_size for d in dirs for p in d.rglob("*.py"))
    checkouts = {"this": SRC, **({"against": args.against} if args.against else {})}
    walls: dict[str, list[float]] = {name: [] for name in checkouts}
    cpus: dict[str, list[float]] = {name: [] for name in checkouts}
    files_times: dict[str, dict[str, list[float]]] = {name: {} for name in checkouts}
    summaries: dict[str, str] = {}
    for n in range(args.rounds):
        order = list(checkouts.items())
        for name, src in order[::-1] if n % 2 else order:
            wall, cpu, summaries[name] = run(dirs, src)
            walls[name].append(wall)
            cpus[name].append(cpu)
            for path, seconds in per_file(dirs, src).items():
                files_times[name].setdefault(path, []).append(seconds)
    print(f"{files} files, {size / 1000:.0f} KB, {args.rounds} rounds")
    for name, src in checkouts.items():
        medians = sorted(statistics.median(t) for t in files_times[name].values())
        print(f"{name:8} {src}")
        print(f"         {summaries[name]}")
        print(f"         wall {spread(walls[name])}")
        print(f"         cpu  {spread(cpus[name])}")
        print(
            f"         per file (cpu, imports excluded): min {medians[0]:.3f} s,"
            f" median {statistics.median(medians):.3f} s, max {medians[-1]:.3f} s,"
            f" sum {sum(medians):.2f} s"
        )
    if args.against:
        for what, values in (("wall", walls), ("cpu", cpus)):
            ratio = statistics.median(values["against"]) / statistics.median(values["this"])
            print(f"this checkout is {ratio:.2f}x as fast ({what}, ratio of the medians)")


if __name__ == "__main__":
    main()
