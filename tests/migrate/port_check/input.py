"""A model server that refuses to start on a busy port, and says where it listens."""

import argparse
import socket

from flask import Flask, jsonify

app = Flask(__name__)
model = {}


def is_port_in_use(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@app.route("/predict")
def predict():
    return jsonify(model=model["name"], name=app.config["NAME"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--name", default="demo")
    args = parser.parse_args()
    if is_port_in_use(args.port):
        raise ValueError(f"port {args.port} is already in use")
    app.config["NAME"] = args.name
    model["name"] = args.model
    print(f"Serving {args.model} on http://127.0.0.1:{args.port}")
    app.run(host="127.0.0.1", port=args.port)
