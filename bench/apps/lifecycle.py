"""lifecycle: an app whose hooks note which process ran them, for bench/soak_stop.py.

Each start-up and shutdown hook appends ``startup PID`` or ``shutdown PID`` to
the file named by ``LIFECYCLE_LOG``; ``/pid`` answers the serving process's id.
"""

import argparse
import os
from pathlib import Path

from flask import Flask, jsonify

from flaskd import Service

app = Flask(__name__)
parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True, help="file the hooks append 'startup PID' lines to")
service = Service(app, parser, env_prefix="LIFECYCLE_")


def note(app: Flask, what: str) -> None:
    with Path(app.config["LOG"]).open("a") as f:
        f.write(f"{what} {os.getpid()}\n")


@service.on_startup
def started(app: Flask) -> None:
    note(app, "startup")


@service.on_shutdown
def stopped(app: Flask) -> None:
    note(app, "shutdown")


@app.get("/pid")
def pid() -> object:
    return jsonify(os.getpid())
