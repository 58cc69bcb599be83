#!/usr/bin/env python3
"""Share a folder over HTTP on the local network."""
import argparse
import os

from flask import Flask, abort, send_from_directory

app = Flask(__name__)
ROOT = os.getcwd()


@app.route("/")
def listing():
    names = sorted(os.listdir(ROOT))
    items = "".join(f'<li><a href="/f/{n}">{n}</a></li>' for n in names if not n.startswith("."))
    return f"<h1>{ROOT}</h1><ul>{items}</ul>"


@app.route("/f/<path:name>")
def fetch(name):
    if name.startswith(".") or ".." in name:
        abort(404)
    return send_from_directory(ROOT, name, as_attachment=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Share the current directory")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    app.run(host=args.host, port=args.port)
