"""click imported beside os under another name, and still used by a Flask CLI command."""

from __future__ import annotations

import os, click as cli
from flask import Flask

app = Flask(__name__)
greeting = {}


@app.cli.command("hello")
@cli.argument("name")
def hello(name):
    cli.echo(f"hello, {name}")


@app.route("/")
def index():
    return {"text": greeting["text"], "cwd": os.path.isabs(os.getcwd())}


@cli.command()
@cli.option("--text", default="hi")
def main(text):
    greeting["text"] = text
    app.run(port=5000)


if __name__ == "__main__":
    main()
