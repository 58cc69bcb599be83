"""Handlers read the query string, request.args, while the parsed options are named args too."""

import argparse

from flask import Flask, jsonify, request

app = Flask(__name__)


class Query:
    def __init__(self, *args):
        self.args = args

    def read(self):
        return {name: request.args.get(name, "") for name in self.args}


@app.get("/search")
def search():
    return jsonify(query=Query("q", "sort").read(), title=args.title)


@app.get("/echo")
def echo():
    args = request.args
    return jsonify(args=args.to_dict(), banner=app.config["BANNER"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--title", default="Search")
    args = parser.parse_args()
    banner = args.title.upper()
    app.config["BANNER"] = banner
    print(banner)
    app.run(port=args.port)
