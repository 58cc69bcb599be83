"""An app for the container tests: a config value, a secret, a slow request, an orphan, and
hooks that say in which process they ran (the tests, outside the container, read its logs)."""

import argparse
import os
import subprocess
import time
import urllib.request
from pathlib import Path

from flask import Flask

from flaskd import Service

app = Flask(__name__)
parser = argparse.ArgumentParser()
parser.add_argument("--title", default="boxed")
parser.add_argument("--api-token", help="a secret: read from BOXED_API_TOKEN_FILE")
service = Service(app, parser, env_prefix="BOXED_", serve={"port": 8080})


def say(line):
    """Write ``line`` to stdout in one write: the workers share it, and print() unbuffered
    (PYTHONUNBUFFERED in the image) writes the newline apart, so two workers' lines mixed."""
    os.write(1, f"{line}\n".encode())


@service.on_startup
def started(app):
    say(f"startup hook ran in {os.getpid()}")


@service.on_shutdown
def stopped(app):
    say(f"shutdown hook ran in {os.getpid()}")


@app.get("/")
def index():
    return {"title": app.config["TITLE"], "token": app.config["API_TOKEN"]}


@app.get("/slow")
def slow():
    """Answer once this server is stopping (readiness 503, or no longer accepting), and a
    little after: a stop the test sends always finds this request in flight."""
    say("slow request started")  # the test, outside the container, waits for it
    ready = f"http://127.0.0.1:{os.environ['PORT']}{os.environ['FLASKD_READY_PATH']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(ready, timeout=5).close()
        except OSError:  # HTTPError 503 (stopping), or refused once the socket is closed
            break
        time.sleep(0.05)
    time.sleep(0.5)
    say("slow request done")
    return "slow done"


@app.get("/orphan")
def orphan():
    # sh exits at once and leaves its background sleep to PID 1, as a daemonizing tool does.
    out = subprocess.run(["/bin/sh", "-c", "sleep 0.2 & echo $!"], capture_output=True, check=True)
    return {"pid": int(out.stdout)}


@app.get("/proc/<int:pid>")
def proc(pid):
    """The state letter of a process (Z for a zombie), or gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return {"state": "gone"}
    return {"state": stat.rpartition(")")[2].split()[0]}
