"""How fast `flaskd migrate` goes over a tree of scripts, in diff mode (nothing written).

    .venv/bin/python bench/migrate_speed.py [DIR ...] [--rounds N] [--against SRC]

Runs the real command (worker processes from 40 files on) over DIR (default: every .py
file of site-packages) and prints files per second, the best of N rounds (default 3).
With ``--against SRC``, the ``src`` directory of another checkout (a ``git worktree`` of
the commit before a change), the same command of that code runs in turn with this one,
round by round, so that both see the same machine, and the ratio is printed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def run(dirs: list[Path], src: Path) -> tuple[float, str]:
    """Seconds the command took with flaskd from ``src``, and its summary line."""
    env = {**os.environ, "PYTHONPATH": str(src)}
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
    return elapsed, f"{summary} (exit {result.returncode})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path, metavar="DIR")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", type=Path, metavar="SRC", help="another checkout's src/")
    args = parser.parse_args()
    # Given as the root, site-packages is walked (the walk skips it only below the root).
    dirs = args.dirs or [Path(sysconfig.get_paths()["purelib"])]
    files = sum(1 for d in dirs for _ in d.rglob("*.py"))
    checkouts = {"this": SRC, **({"against": args.against} if args.against else {})}
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, src in checkouts.items():
            elapsed, summary = run(dirs, src)
            best[name] = min(best.get(name, elapsed), elapsed)
    print(summary)
    for name, elapsed in best.items():
        rate = files / elapsed
        print(f"{name:8} {checkouts[name]}: {files} files in {elapsed:.2f} s, {rate:.0f} files/s")
    if args.against:
        print(f"this checkout is {best['against'] / best['this']:.2f}x as fast")


if __name__ == "__main__":
    main()
