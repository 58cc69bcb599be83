"""A paginated listing: defaults in config.py, overridden by the command line."""

import argparse

from flask import Flask, jsonify
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--page-size", type=int, default=20)
parser.add_argument("--secret-key", default="dev-secret")
parser.add_argument("--port", type=int, default=5000)
service = Service(app, parser, env_prefix="CONFIG_PRECEDENCE_")
create_app = service.create_app  # for servers that only call plain names

app.config.from_object("config")
app.config.pop("PAGE_SIZE", None)  # as in the script, --page-size gives PAGE_SIZE, not this
app.config.pop("SECRET_KEY", None)  # as in the script, --secret-key gives SECRET_KEY, not this

ITEMS = [f"item{i}" for i in range(100)]


@app.route("/items")
def items():
    secret = "option" if app.secret_key == "dev-secret" else "config"
    return jsonify(page=ITEMS[: app.config["PAGE_SIZE"]], secret=secret)


if __name__ == "__main__":
    service.main()
