import click
from flask import Flask

app = Flask(__name__)
settings = {}


@app.route("/")
def index():
    return {"level": settings["level"], "tags": settings["tags"], "quiet": settings["quiet"]}


@click.command()
@click.option("--level", type=click.Choice(["low", "high"]), default="low", help="how loud")
@click.option("--tag", "tags", multiple=True)
@click.option("-q", "--quiet", is_flag=True)
@click.option("--port", default=5000, type=int)
def main(level, tags, quiet, port):
    """Serve the settings."""
    settings.update(level=level, tags=list(tags), quiet=quiet)
    app.run(port=port)


if __name__ == "__main__":
    main()
