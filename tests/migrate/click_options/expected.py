import argparse
from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--level", choices=["low", "high"], default="low", help="how loud")
parser.add_argument("--tag", action="append", default=[], dest="tags")
parser.add_argument("-q", "--quiet", action="store_true")
parser.add_argument("--port", default=5000, type=int)
service = Service(app, parser, env_prefix="CLICK_OPTIONS_")
create_app = service.create_app  # for servers that only call plain names

settings = {}


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    settings.update(level=app.config["LEVEL"], tags=list(app.config["TAGS"]), quiet=app.config["QUIET"])


@app.route("/")
def index():
    return {"level": settings["level"], "tags": settings["tags"], "quiet": settings["quiet"]}


def main():
    """Serve the settings."""
    service.main()


if __name__ == "__main__":
    main()
