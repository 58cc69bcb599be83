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
service = Service(app, parser, env_prefix="TESTAPP_")


def note(what: str) -> None:
    with Path(app.config["LOG"]).open("a") as f:
        f.write(f"{what} {os.getpid()}\n")


@service.on_startup
def started(app):
    if app.config["FAIL_IF"] and Path(app.config["FAIL_IF"]).exists():
        raise RuntimeError("the database is gone")
    note("startup")


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
