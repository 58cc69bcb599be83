"""Options read from a dict: opts = vars(parser.parse_args()), then opts["ip"]."""

import argparse

from flask import Flask, jsonify
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--ip", "--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=5000)
parser.add_argument("--owner", default="nobody")
parser.add_argument("--limit", type=int, default=10)
service = Service(app, parser, env_prefix="OPTIONS_DICT_")
create_app = service.create_app  # for servers that only call plain names

notes = []


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    notes.append(f"kept by {app.config['OWNER']}")


@app.route("/notes")
def listing():
    return jsonify(owner=app.config["OWNER"], notes=notes, limit=app.config["LIMIT"])


if __name__ == "__main__":
    service.main()
