"""A dashboard started as `python positional_port.py 8080`: the port is a positional argument."""

import argparse

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/")
def status():
    return jsonify(status="ok")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Status dashboard")
    parser.add_argument("port", type=int, help="port to listen on")
    args = parser.parse_args()
    app.run(host="127.0.0.1", port=args.port)
