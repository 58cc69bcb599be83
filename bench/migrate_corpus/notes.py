"""notes: a tiny note-taking service, run the same as a script and under any WSGI server.

    python notes.py --db /tmp/notes.sqlite --port 5300     # as a script
    NOTES_DB=/tmp/notes.sqlite flaskd run notes.py         # with flaskd
    NOTES_DB=/tmp/notes.sqlite gunicorn notes:service      # under gunicorn
"""

import argparse
import sqlite3

from flask import Flask, abort, jsonify, request

from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser(description="A tiny note-taking service.")
parser.add_argument("--db", default="notes.sqlite", help="SQLite database file")
parser.add_argument("--title", default="Notes", help="name shown by GET /")
parser.add_argument("--max-length", type=int, default=500, help="longest note accepted")
parser.add_argument("--secret-key", help="signs sessions; give it as NOTES_SECRET_KEY_FILE")

service = Service(app, parser, env_prefix="NOTES_", serve={"port": 5300})
create_app = service.create_app  # for servers that only call plain names


@service.on_startup
def open_db(app):
    db = sqlite3.connect(app.config["DB"], check_same_thread=False)
    db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    db.commit()
    app.extensions["db"] = db


@service.on_shutdown
def close_db(app):
    app.extensions.pop("db").close()


@app.get("/")
def index():
    return {"title": app.config["TITLE"], "signed": app.config["SECRET_KEY"] is not None}


@app.get("/notes")
def list_notes():
    rows = app.extensions["db"].execute("SELECT id, text FROM notes ORDER BY id").fetchall()
    return jsonify([{"id": i, "text": t} for i, t in rows])


@app.post("/notes")
def add_note():
    text = (request.get_json(silent=True) or {}).get("text", "")
    if not text or len(text) > app.config["MAX_LENGTH"]:
        abort(400, f"a note is 1 to {app.config['MAX_LENGTH']} characters")
    db = app.extensions["db"]
    with db:
        note_id = db.execute("INSERT INTO notes (text) VALUES (?)", (text,)).lastrowid
    return {"id": note_id, "text": text}, 201


if __name__ == "__main__":
    service.main()
