"""click --x/--no-x options: False when absent unless default= says otherwise."""

import click
from flask import Flask

app = Flask(__name__)
settings = {}


@app.route("/")
def index():
    return settings


@click.command()
@click.option("--verbose/--no-verbose", default=False, help="say more")
@click.option("--color/--no-color", default=True)
@click.option("--cache/--no-cache")
@click.option("--name", default="ann")
@click.option("--port", default=5000)
def main(verbose, color, cache, name, port):
    settings.update(verbose=verbose, color=color, cache=cache, hello=f"hi {name}")
    app.run(port=port)


if __name__ == "__main__":
    main()
