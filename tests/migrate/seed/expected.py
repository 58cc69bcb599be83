"""The seed's server.py (its `if __init__ == "__name__":` typo fixed so it runs)."""

import argparse

from flask import Flask
from flaskd import Service

app = Flask("LOL")

parser = argparse.ArgumentParser()
parser.add_argument("--some-option", default="A")
service = Service(app, parser, env_prefix="SEED_", serve={"host": "127.0.0.1", "port": 53000})
create_app = service.create_app  # for servers that only call plain names

app.config.from_object("config")  # note the missing '.py'
app.config.pop("SOME_OPTION", None)  # as in the script, --some-option gives SOME_OPTION, not this
app.config["MORE_OPTIONS"] = "Hello"

state = {}


def doInitSuff(option):
    state["option"] = option


@service.on_startup
def doStuff(app):
    doInitSuff(app.config["SOME_OPTION"])


@app.route("/")
def index():
    return {"option": state.get("option"), "more": app.config["MORE_OPTIONS"]}


if __name__ == "__main__":
    service.main()
