"""Settings copied from the options by attribute and by update(): flaskd does that itself."""

import argparse

from flask import Flask, session
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--secret-key", default="dev-secret")
parser.add_argument("--testing", action="store_true")
parser.add_argument("--page-size", type=int, default=20)
parser.add_argument("--port", type=int, default=5000)
service = Service(app, parser, env_prefix="CONFIG_ATTRIBUTES_")
create_app = service.create_app  # for servers that only call plain names

app.config.from_object("config")
app.config.pop("PAGE_SIZE", None)  # as in the script, --page-size gives PAGE_SIZE, not this
app.config.pop("SECRET_KEY", None)  # as in the script, --secret-key gives SECRET_KEY, not this
app.config.pop("TESTING", None)  # as in the script, --testing gives TESTING, not this


@app.route("/")
def index():
    session["seen"] = True
    return {"secret": app.secret_key, "testing": app.testing, "size": app.config["PAGE_SIZE"]}


if __name__ == "__main__":
    service.main()
