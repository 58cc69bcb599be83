"""A tiny URL shortener backed by SQLite."""

import argparse
import random
import sqlite3
import string

from flask import Flask, g, redirect, render_template_string, request, url_for

app = Flask(__name__)
DATABASE = None
ALPHABET = string.ascii_letters + string.digits

FORM = """
<!doctype html>
<title>shorty</title>
<form method=post action="{{ url_for('shorten') }}">
  <input name=url placeholder="https://..." size=60 autofocus>
  <button>Shorten</button>
</form>
{% if short %}<p>Short link: <a href="{{ short }}">{{ short }}</a></p>{% endif %}
<h2>Recent</h2>
<ul>{% for code, url, hits in recent %}<li><code>{{ code }}</code> {{ url }} ({{ hits }})</li>{% endfor %}</ul>
"""


def get_db():
    db = getattr(g, "_db", None)
    if db is None:
        db = g._db = sqlite3.connect(DATABASE)
    return db


@app.teardown_appcontext
def close_db(exc):
    db = getattr(g, "_db", None)
    if db is not None:
        db.close()


def new_code(length=6):
    return "".join(random.choice(ALPHABET) for _ in range(length))


@app.route("/", methods=["GET"])
def index():
    recent = get_db().execute("SELECT code, url, hits FROM links ORDER BY rowid DESC LIMIT 20").fetchall()
    return render_template_string(FORM, recent=recent, short=request.args.get("short"))


@app.route("/shorten", methods=["POST"])
def shorten():
    url = request.form.get("url", "").strip()
    if not url.startswith(("http://", "https://")):
        return "only http(s) URLs", 400
    db = get_db()
    row = db.execute("SELECT code FROM links WHERE url = ?", (url,)).fetchone()
    if row:
        code = row[0]
    else:
        code = new_code()
        db.execute("INSERT INTO links (code, url, hits) VALUES (?, ?, 0)", (code, url))
        db.commit()
    return redirect(url_for("index", short=url_for("follow", code=code, _external=True)))


@app.route("/<code>")
def follow(code):
    db = get_db()
    row = db.execute("SELECT url FROM links WHERE code = ?", (code,)).fetchone()
    if row is None:
        return "unknown link", 404
    db.execute("UPDATE links SET hits = hits + 1 WHERE code = ?", (code,))
    db.commit()
    return redirect(row[0])


def init_db(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS links (code TEXT PRIMARY KEY, url TEXT, hits INTEGER)")


def main():
    global DATABASE
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="links.db", help="SQLite file")
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()
    DATABASE = args.db
    init_db(DATABASE)
    app.run(port=args.port, debug=args.debug)


if __name__ == "__main__":
    main()
