"""An app whose hooks write the PID of the process they run in to the file $GPID_FILE."""

import os
from pathlib import Path

from flask import Flask

from flaskd import Service

app = Flask(__name__)
service = Service(app, env_prefix="GPID_")


def note(event: str) -> None:
    with Path(os.environ["GPID_FILE"]).open("a") as f:
        f.write(f"{event} {os.getpid()}\n")


@service.on_startup
def started(app):
    note("startup")


@service.on_shutdown
def stopped(app):
    note("shutdown")


@app.get("/")
def index():
    return {"pid": os.getpid()}
