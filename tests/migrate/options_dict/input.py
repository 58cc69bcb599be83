"""Options read from a dict: opts = vars(parser.parse_args()), then opts["ip"]."""

import argparse

from flask import Flask, jsonify

app = Flask(__name__)
notes = []


@app.route("/notes")
def listing():
    return jsonify(owner=opts["owner"], notes=notes, limit=opts.get("limit"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--owner", default="nobody")
    parser.add_argument("--limit", type=int, default=10)
    opts = vars(parser.parse_args())
    notes.append(f"kept by {opts['owner']}")
    app.run(host=opts["ip"], port=opts["port"])
