"""An app that shows its request environ and notes which process ran its hooks."""

import argparse
import os
from pathlib import Path

from flask import Flask, jsonify, request

from flaskd import Service

app = Flask(__name__)
parser = argparse.ArgumentParser()
parser.add_argument("--log", default="", help="file the hooks append 'startup PID' lines to")
service = Service(app, parser, env_prefix="GRANIAN_ENV_")


def note(app, what):
    if app.config["LOG"]:
        with Path(app.config["LOG"]).open("a") as f:
            f.write(f"{what} {os.getpid()}\n")


@service.on_startup
def started(app):
    note(app, "startup")


@service.on_shutdown
def stopped(app):
    note(app, "shutdown")


@app.route("/environ", methods=["GET", "POST"])
def environ():
    return jsonify({k: v for k, v in request.environ.items() if isinstance(v, str)})


@app.get("/getenv/<name>")
def getenv(name):
    return jsonify(os.environ.get(name))


@app.get("/pid")
def pid():
    return jsonify(os.getpid())


if __name__ == "__main__":
    service.main()
