"""The flaskd command run by another interpreter: one process of it for many calls.

`flaskd systemd` writes units for the interpreter that runs it and checks that the
service's user can read that interpreter's flaskd, Flask and backend, so its tests run it
with venvs of their own (tests/test_systemd_unit.py). Starting such a venv's python for
every call costs about 0.3 s of CPU, mostly Flask's import. A `CliProcess` starts the
interpreter once and runs each call there with click's CliRunner, as the ``invoke``
fixture does in the tests' own process: each call in the directory it names, with the
environment the process started with, its app imported anew (tests/app_imports.py).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from conftest import PREFIXES, Invoked

#: Run by the other interpreter: a JSON call a line on stdin, a JSON result a line on the
#: descriptor that was stdout (stdout itself goes to stderr: a stray write cannot garble one).
_SERVE = r"""
import json, os, sys, traceback
sys.path.insert(0, sys.argv[1])  # tests/, for app_imports
from app_imports import apps_imported_anew
from click.testing import CliRunner
from flaskd.cli import cli

calls, results = os.fdopen(os.dup(0)), os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
started = dict(os.environ)
for line in calls:
    call = json.loads(line)
    os.chdir(call["cwd"])
    try:
        with apps_imported_anew():
            result = CliRunner().invoke(cli, call["args"], prog_name="flaskd")
        if result.exception is None or isinstance(result.exception, SystemExit):
            answer = {"returncode": result.exit_code, "stdout": result.stdout,
                      "stderr": result.stderr}
        else:
            answer = {"bug": "".join(traceback.format_exception(result.exception))}
    finally:  # what an env file exported into the environment goes with its call
        os.environ.clear()
        os.environ.update(started)
    results.write(json.dumps(answer) + "\n")
    results.flush()
"""


class CliProcess:
    """``python`` running the flaskd command for each call: ``process(args, cwd=...)``."""

    def __init__(self, python: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
        env["PYTHONPATH"] = ""  # its venv's flaskd, not this checkout's
        self._process = subprocess.Popen(
            [python, "-c", _SERVE, str(Path(__file__).parent)], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def __call__(self, args: Sequence[str], *, cwd: Path) -> Invoked:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        call = {"args": list(args), "cwd": str(cwd)}
        self._process.stdin.write(json.dumps(call) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        assert line, f"the flaskd process exited ({self._process.poll()}) on {args}"
        answer = json.loads(line)
        assert "bug" not in answer, answer["bug"]
        return Invoked(answer["returncode"], answer["stdout"], answer["stderr"])

    def close(self) -> None:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.close()  # its loop ends
        self._process.wait(timeout=30)
        self._process.stdout.close()
