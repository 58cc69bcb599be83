"""An API whose server is started by an entry point in setup.py (`serve = api:run_server`)."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/health")
def health():
    return jsonify(status="up")


def run_server():
    app.run(host="0.0.0.0", port=8000)
