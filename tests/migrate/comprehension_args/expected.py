"""A script that names a comprehension's variable like its parsed options."""

import argparse

from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=5000)
parser.add_argument("--tag", action="append", default=[])
service = Service(app, parser, env_prefix="COMPREHENSION_ARGS_")
create_app = service.create_app  # for servers that only call plain names

tags = []


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    tags.extend(args.strip() for args in app.config["TAG"] if args)


@app.get("/")
def index():
    return {"tags": [args.upper() for args in tags]}


if __name__ == "__main__":
    service.main()
