"""A sensor dashboard whose serving address goes through aliases and fallbacks."""

import argparse

from flask import Flask, jsonify
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser(description="Sensor dashboard")
parser.add_argument("--host", help="interface to listen on", default="127.0.0.1")
parser.add_argument("--port", help="port to listen on", default=8000)
parser.add_argument("--unit", default="C")
service = Service(app, parser, env_prefix="ADDRESS_ALIASES_")
create_app = service.create_app  # for servers that only call plain names

readings = {"temp": 21.5}


@app.route("/readings")
def current():
    return jsonify(readings=readings, unit=app.config["UNIT"])


if __name__ == "__main__":
    service.main()
