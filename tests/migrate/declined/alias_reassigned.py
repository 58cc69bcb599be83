"""The host's alias is assigned twice on the main path: which one is served, flaskd cannot tell."""

import argparse

from flask import Flask

app = Flask(__name__)

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host")
    args = parser.parse_args()
    HOST = args.host
    if not HOST:
        HOST = "0.0.0.0"
    app.run(host=HOST)
