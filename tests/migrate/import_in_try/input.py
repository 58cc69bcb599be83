"""A notes API whose import fails with a hint when Flask is missing."""

import argparse

try:
    from flask import Flask, jsonify
except ImportError:
    raise RuntimeError("Flask is required: pip install flask")

app = Flask(__name__)
NOTES = ["first"]


@app.route("/notes")
def notes():
    return jsonify(owner=args.owner, notes=NOTES)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--owner", default="me")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    app.run(host="127.0.0.1", port=args.port)
