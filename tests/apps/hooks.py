"""An app whose hooks write what they do to a log file, one of them failing on shutdown."""

import argparse
import time
from pathlib import Path

from flask import Flask, request

from flaskd import Service

app = Flask(__name__)
parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True, help="file the hooks append to")
parser.add_argument("--startup-delay", type=float, default=0.0, help="seconds the hooks take")
service = Service(app, parser, env_prefix="HOOKS_")


def note(app, line):
    with Path(app.config["LOG"]).open("a") as f:
        f.write(line + "\n")


@service.on_startup
def first(app):
    note(app, "startup first")


@service.on_startup
def second(app):
    time.sleep(app.config["STARTUP_DELAY"])
    note(app, "startup second")


@service.on_shutdown
def close_first(app):
    note(app, "shutdown first")


@service.on_shutdown
def broken(app):
    raise RuntimeError("cannot flush")


@service.on_shutdown
def close_second(app):
    note(app, "shutdown second")


@app.get("/")
def index():
    note(app, "request")
    return "ok"


@app.get("/slow")
def slow():
    """Create the file named by X-Started (the request has reached the app), then wait 2 s,
    or until the file named by X-Release exists (see tests/conftest.py: InFlight)."""
    if "X-Started" in request.headers:
        Path(request.headers["X-Started"]).touch()
    release = request.headers.get("X-Release")
    if release is None:
        time.sleep(2)
    else:
        deadline = time.monotonic() + 60
        while not Path(release).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    return "slow ok"


if __name__ == "__main__":
    service.main()
