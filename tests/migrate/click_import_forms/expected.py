"""click imported beside os under another name, and still used by a Flask CLI command."""

from __future__ import annotations

import argparse
import os, click as cli
from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--text", default="hi")
service = Service(app, parser, env_prefix="CLICK_IMPORT_FORMS_", serve={"port": 5000})
create_app = service.create_app  # for servers that only call plain names

greeting = {}


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    greeting["text"] = app.config["TEXT"]


@app.cli.command("hello")
@cli.argument("name")
def hello(name):
    cli.echo(f"hello, {name}")


@app.route("/")
def index():
    return {"text": greeting["text"], "cwd": os.path.isabs(os.getcwd())}


def main():
    service.main()


if __name__ == "__main__":
    main()
