"""A paginated listing: defaults in config.py, overridden by the command line."""

import argparse

from flask import Flask, jsonify

app = Flask(__name__)
app.config.from_object("config")

ITEMS = [f"item{i}" for i in range(100)]


@app.route("/items")
def items():
    secret = "option" if app.secret_key == "dev-secret" else "config"
    return jsonify(page=ITEMS[: app.config["PAGE_SIZE"]], secret=secret)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--page-size", type=int, default=20)
    parser.add_argument("--secret-key", default="dev-secret")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    app.config["PAGE_SIZE"] = args.page_size
    app.config["SECRET_KEY"] = args.secret_key
    app.run(port=args.port)
