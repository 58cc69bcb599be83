"""An app for the container tests: a config value, a secret, a slow request, an orphan."""

import argparse
import subprocess
import time
from pathlib import Path

from flask import Flask

from flaskd import Service

app = Flask(__name__)
parser = argparse.ArgumentParser()
parser.add_argument("--title", default="boxed")
parser.add_argument("--api-token", help="a secret: read from BOXED_API_TOKEN_FILE")
service = Service(app, parser, env_prefix="BOXED_", serve={"port": 8080})


@app.get("/")
def index():
    return {"title": app.config["TITLE"], "token": app.config["API_TOKEN"]}


@app.get("/slow")
def slow():
    print("slow request started", flush=True)  # the test, outside the container, waits for it
    time.sleep(2)
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
