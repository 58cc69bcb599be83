"""A tiny blog in the style of Flask's tutorial: the schema is loaded at every start."""

import argparse
import logging
import sqlite3

from flask import Flask, jsonify
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--database", default="blog.sqlite")
parser.add_argument("--port", type=int, default=5000)
service = Service(app, parser, env_prefix="INIT_DB_")
create_app = service.create_app  # for servers that only call plain names

log = logging.getLogger("blog")


def connect():
    return sqlite3.connect(app.config["DATABASE"])


def init_db():
    with connect() as db, open("schema.sql") as f:
        db.executescript(f.read())


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    init_db()
    log.info("database ready")


@app.route("/entries")
def entries():
    with connect() as db:
        rows = db.execute("SELECT title FROM entries").fetchall()
    return jsonify(entries=[r[0] for r in rows])


if __name__ == "__main__":
    service.main()
