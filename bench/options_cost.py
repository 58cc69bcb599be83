#!/usr/bin/env python3
"""What flaskd options cost: `flaskd run` with some options against `flaskd run` with others.

    python bench/options_cost.py --with='--access-log --log-format json' \\
        --against='--access-log' [--backends waitress,gunicorn,granian] [--rounds N]

The two run side by side with bench/run.py's method (each server and its wrk pinned to one
core, the cores swapped every round, paired 1-second rounds, trimmed mean of the log ratio)
on the hello app. Prints, per backend, the throughput ratio and the cost per request in
microseconds of one core: 1e6/rps(with) - 1e6/rps(against), from the medians. Nothing is
written to bench/results but the servers' logs (bench/results/raw/).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import run as bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--with", dest="with_", type=shlex.split, required=True, metavar="'OPTS'")
    parser.add_argument("--against", type=shlex.split, default=[], metavar="'OPTS'")
    parser.add_argument("--rounds", type=int, default=16, help="paired 1-second rounds")
    parser.add_argument(
        "--backends",
        type=lambda t: bench.names(t, bench.BACKENDS),
        default=list(bench.BACKENDS),
        help="default: " + ",".join(bench.BACKENDS),
    )
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))[:2]
    bench.ensure_tools()
    bench.RAW.mkdir(parents=True, exist_ok=True)
    app = bench.APPS["hello"]
    deadline = time.monotonic() + bench.MAX_MINUTES * 60
    with_, against = " ".join(args.with_), " ".join(args.against) or "(defaults)"
    print(f"flaskd run {with_}  against  flaskd run {against}, {args.rounds} rounds")
    rows = []
    with tempfile.TemporaryDirectory(prefix="flaskd-bench-") as tmp:
        for name in args.backends:
            ok, message, settings = bench.probe(name)
            if not ok:
                sys.exit(f"flaskd config --server {name} failed: {message}")
            pair = bench.Pair(
                "hello",
                name,
                "bare",
                (f"flaskd {name} {with_}", bench.flaskd_argv(app, name, settings, args.with_)),
                (f"flaskd {name} {against}", bench.flaskd_argv(app, name, settings, args.against)),
            )
            r = bench.run_pair(pair, args.rounds, 1, cores, Path(tmp), deadline)
            cost = 1e6 / r["median_ours_rps"] - 1e6 / r["median_bare_rps"]
            rows.append(
                f"| {name} | {r['ratio']:.3f} (SE {r['log_ratio_se']:.3f}) | "
                f"{r['median_ours_rps']:.0f} / {r['median_bare_rps']:.0f} | {cost:+.1f} |"
            )
    print("\n| backend | ratio with/against | req/s with / against, median | µs a request |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
