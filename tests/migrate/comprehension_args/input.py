"""A script that names a comprehension's variable like its parsed options."""

import argparse

from flask import Flask

app = Flask(__name__)
tags = []


@app.get("/")
def index():
    return {"tags": [args.upper() for args in tags]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--tag", action="append", default=[])
    args = parser.parse_args()
    tags.extend(args.strip() for args in args.tag if args)
    app.run(port=args.port)
