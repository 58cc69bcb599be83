"""
Todo list REST API
==================

A small JSON API over SQLite, written for the workshop.

    python todo_api.py --db todos.sqlite --port 5001
"""
import argparse
import logging
import sqlite3
from datetime import datetime

from flask import Flask, abort, g, jsonify, request

app = Flask(__name__)
app.config["JSON_SORT_KEYS"] = False
logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS todos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    due TEXT
);
"""


def db():
    if "db" not in g:
        g.db = sqlite3.connect(app.config["DATABASE"])
        g.db.row_factory = sqlite3.Row
    return g.db


@app.teardown_appcontext
def close(exc):
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


@app.before_first_request
def create_tables():
    with sqlite3.connect(app.config["DATABASE"]) as conn:
        conn.executescript(SCHEMA)
    logger.info("database ready: %s", app.config["DATABASE"])


def as_dict(row):
    return {"id": row["id"], "title": row["title"], "done": bool(row["done"]),
            "created": row["created"], "due": row["due"]}


def validate(data, partial=False):
    if not isinstance(data, dict):
        abort(400, "expected a JSON object")
    if not partial and not data.get("title"):
        abort(400, "title is required")
    if "due" in data and data["due"]:
        try:
            datetime.strptime(data["due"], "%Y-%m-%d")
        except ValueError:
            abort(400, "due must be YYYY-MM-DD")
    return data


@app.route("/todos", methods=["GET"])
def list_todos():
    query = "SELECT * FROM todos"
    params = []
    if request.args.get("done") in ("0", "1"):
        query += " WHERE done = ?"
        params.append(int(request.args["done"]))
    query += " ORDER BY due IS NULL, due, id"
    return jsonify([as_dict(r) for r in db().execute(query, params)])


@app.route("/todos", methods=["POST"])
def create_todo():
    data = validate(request.get_json(silent=True))
    cur = db().execute(
        "INSERT INTO todos (title, created, due) VALUES (?, ?, ?)",
        (data["title"], datetime.utcnow().isoformat(timespec="seconds"), data.get("due")),
    )
    db().commit()
    return get_todo(cur.lastrowid), 201


@app.route("/todos/<int:todo_id>", methods=["GET"])
def get_todo(todo_id):
    row = db().execute("SELECT * FROM todos WHERE id = ?", (todo_id,)).fetchone()
    if row is None:
        abort(404)
    return jsonify(as_dict(row))


@app.route("/todos/<int:todo_id>", methods=["PATCH"])
def update_todo(todo_id):
    data = validate(request.get_json(silent=True), partial=True)
    fields = {k: data[k] for k in ("title", "done", "due") if k in data}
    if not fields:
        abort(400, "nothing to update")
    sets = ", ".join(f"{k} = ?" for k in fields)
    db().execute(f"UPDATE todos SET {sets} WHERE id = ?", (*fields.values(), todo_id))
    db().commit()
    return get_todo(todo_id)


@app.route("/todos/<int:todo_id>", methods=["DELETE"])
def delete_todo(todo_id):
    db().execute("DELETE FROM todos WHERE id = ?", (todo_id,))
    db().commit()
    return "", 204


@app.errorhandler(400)
@app.errorhandler(404)
def error(e):
    return jsonify(error=e.description), e.code


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Todo API")
    parser.add_argument("--db", dest="database", default="todos.sqlite", help="SQLite database")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(message)s")
    app.config["DATABASE"] = args.database
    app.run(host="127.0.0.1", port=args.port)
