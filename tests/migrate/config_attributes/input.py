"""Settings copied from the options by attribute and by update(): flaskd does that itself."""

import argparse

from flask import Flask, session

app = Flask(__name__)
app.config.from_object("config")


@app.route("/")
def index():
    session["seen"] = True
    return {"secret": app.secret_key, "testing": app.testing, "size": app.config["PAGE_SIZE"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret-key", default="dev-secret")
    parser.add_argument("--testing", action="store_true")
    parser.add_argument("--page-size", type=int, default=20)
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    app.secret_key = args.secret_key
    app.testing = args.testing
    app.config.update(PAGE_SIZE=args.page_size)
    app.run(port=args.port)
