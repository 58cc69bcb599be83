"""A sensor dashboard whose serving address goes through aliases and fallbacks."""

import argparse

from flask import Flask, jsonify

app = Flask(__name__)
readings = {"temp": 21.5}


@app.route("/readings")
def current():
    return jsonify(readings=readings, unit=app.config["UNIT"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Sensor dashboard")
    parser.add_argument("--host", help="interface to listen on")
    parser.add_argument("--port", help="port to listen on")
    parser.add_argument("--unit", default="C")
    args = parser.parse_args()
    app.config["UNIT"] = args.unit
    HOST = args.host if args.host else "127.0.0.1"
    PORT = int(args.port) if args.port else 8000
    app.run(host=HOST, port=PORT)
