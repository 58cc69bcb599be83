"""An app whose hooks write what they do to a log file, one of them failing on shutdown."""

import argparse
import time
from pathlib import Path

from flask import Flask

from flaskd import Service

app = Flask(__name__)
parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True, help="file the hooks append to")
service = Service(app, parser, env_prefix="HOOKS_")


def note(app, line):
    with Path(app.config["LOG"]).open("a") as f:
        f.write(line + "\n")


@service.on_startup
def first(app):
    note(app, "startup first")


@service.on_startup
def second(app):
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
    time.sleep(2)
    return "slow ok"


if __name__ == "__main__":
    service.main()
