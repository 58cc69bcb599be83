"""Handlers read the query string, request.args, while the parsed options are named args too."""

import argparse

from flask import Flask, jsonify, request
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=5000)
parser.add_argument("--title", default="Search")
service = Service(app, parser, env_prefix="QUERY_ARGS_")
create_app = service.create_app  # for servers that only call plain names


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    banner = app.config["TITLE"].upper()
    app.config["BANNER"] = banner
    print(banner)


class Query:
    def __init__(self, *args):
        self.args = args

    def read(self):
        return {name: request.args.get(name, "") for name in self.args}


@app.get("/search")
def search():
    return jsonify(query=Query("q", "sort").read(), title=app.config["TITLE"])


@app.get("/echo")
def echo():
    args = request.args
    return jsonify(args=args.to_dict(), banner=app.config["BANNER"])


if __name__ == "__main__":
    service.main()
