"""The tiny blog, with optparse: the schema is loaded at every start."""

import logging
import sqlite3
from optparse import OptionParser

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


if __name__ == "__main__":
    parser = OptionParser()
    parser.add_option("--database", default="blog.sqlite")
    parser.add_option("--port", type="int", default=5000)
    (options, args) = parser.parse_args()
    app.config["DATABASE"] = options.database
    init_db()
    log.info("database ready")
    app.run(port=options.port)
