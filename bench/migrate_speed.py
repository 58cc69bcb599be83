"""How fast `flaskd migrate` goes over a big tree: every .py file of site-packages, diff mode.

    .venv/bin/python bench/migrate_speed.py [DIR]

Runs the real command (worker processes, nothing written) and prints files per second.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import time
from pathlib import Path


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else sysconfig.get_paths()["purelib"])
    # Given as the root, site-packages is walked (the walk skips it only below the root).
    files = sum(1 for _ in root.rglob("*.py"))
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "flaskd", "migrate", "--diff", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    print(result.stderr.strip().splitlines()[-1])
    rate = files / elapsed
    print(f"{files} files in {elapsed:.1f} s: {rate:.0f} files/s (exit {result.returncode})")


if __name__ == "__main__":
    main()
