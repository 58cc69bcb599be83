"""The seed's server.py (its `if __init__ == "__name__":` typo fixed so it runs)."""

import argparse

from flask import Flask

app = Flask("LOL")
app.config.from_object("config")  # note the missing '.py'
app.config["MORE_OPTIONS"] = "Hello"

state = {}


def doInitSuff(option):
    state["option"] = option


@app.before_first_request
def doStuff():
    doInitSuff(app.config["SOME_OPTION"])


@app.route("/")
def index():
    return {"option": state.get("option"), "more": app.config["MORE_OPTIONS"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--some-option", default="A")
    args = parser.parse_args()

    app.config["SOME_OPTION"] = args.some_option
    app.run(host="127.0.0.1", port=53000)
