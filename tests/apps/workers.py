"""An app whose hooks note which process ran them; its start-up hook fails once a file exists."""

import argparse
import os
import time
from pathlib import Path

from flask import Flask, jsonify

from flaskd import Service

app = Flask(__name__)
parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True, help="file of 'startup PID', 'shutdown PID' lines")
parser.add_argument("--fail-if", default="", help="the start-up hook fails once this file exists")
parser.add_argument(
    "--hold-later", default="", help="start-up hooks after the first wait until this file exists"
)
service = Service(app, parser, env_prefix="TESTAPP_")


def note(what: str) -> None:
    with Path(app.config["LOG"]).open("a") as f:
        f.write(f"{what} {os.getpid()}\n")


@service.on_startup
def started(app):
    if app.config["FAIL_IF"] and Path(app.config["FAIL_IF"]).exists():
        raise RuntimeError("the database is gone")
    if app.config["HOLD_LATER"]:
        hold_unless_first(Path(app.config["HOLD_LATER"]))
    note("startup")


def hold_unless_first(release: Path) -> None:
    """The first process to get here goes on; the others wait until ``release`` exists."""
    try:
        release.with_suffix(".first").touch(exist_ok=False)
    except FileExistsError:
        note("held")
        deadline = time.monotonic() + 60
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.01)


@service.on_shutdown
def stopped(app):
    note("shutdown")


@app.get("/pid")
def pid():
    return jsonify(os.getpid())


@app.get("/sleep/<int:seconds>")
def sleep(seconds):
    note("request")
    time.sleep(seconds)
    return "slept"
