"""An app with one option of each kind argparse offers, and a start-up hook that counts its runs."""

import argparse
import threading
import time

from flask import Flask, jsonify

from flaskd import Service

app = Flask(__name__)
app.config["LEVEL"] = "set-by-app"
app.config["RETRIES"] = 3

parser = argparse.ArgumentParser(description="Options of every kind.")
parser.add_argument("--level", default="parser-default")
parser.add_argument("--workers", type=int, default=2)
parser.add_argument("--mode", choices=["fast", "safe"], default="safe")
parser.add_argument("--verbose", action="store_true")
parser.add_argument("--no-cache", dest="cache", action="store_false")
parser.add_argument("--tag", action="append", default=[])
parser.add_argument("--ratio", type=float, default=0.5)
parser.add_argument("--pair", nargs=2, type=int, default=[0, 0])
parser.add_argument("--api-token")
parser.add_argument("--hook-delay", type=float, default=0.0)

service = Service(app, parser, env_prefix="OPTS_")
create_app = service.create_app

KEYS = ("LEVEL", "WORKERS", "MODE", "VERBOSE", "CACHE", "TAG", "RATIO", "PAIR", "RETRIES")
RUNS: list[int] = []


@service.on_startup
def count_runs(app):
    time.sleep(app.config["HOOK_DELAY"])
    RUNS.append(threading.get_ident())


@app.get("/config")
def config():
    return jsonify({k: app.config[k] for k in KEYS})


@app.get("/runs")
def runs():
    return jsonify(len(RUNS))


if __name__ == "__main__":
    service.main()
