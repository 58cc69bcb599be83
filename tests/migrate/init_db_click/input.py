"""The tiny blog, with click: the schema is loaded at every start."""

import logging
import sqlite3

import click
from flask import Flask, jsonify

app = Flask(__name__)
log = logging.getLogger("blog")


def connect():
    return sqlite3.connect(app.config["DATABASE"])


def init_db():
    with connect() as db, open("schema.sql") as f:
        db.executescript(f.read())


@app.route("/entries")
def entries():
    with connect() as db:
        rows = db.execute("SELECT title FROM entries").fetchall()
    return jsonify(entries=[r[0] for r in rows])


@click.command()
@click.option("--database", default="blog.sqlite")
@click.option("--port", type=int, default=5000)
def main(database, port):
    app.config["DATABASE"] = database
    init_db()
    log.info("database ready")
    app.run(port=port)


if __name__ == "__main__":
    main()
