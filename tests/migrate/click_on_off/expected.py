"""click --x/--no-x options: False when absent unless default= says otherwise."""

import argparse
from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--verbose", action=argparse.BooleanOptionalAction, default=False, help="say more")
parser.add_argument("--color", action=argparse.BooleanOptionalAction, default=True)
parser.add_argument("--cache", action=argparse.BooleanOptionalAction, default=False)
parser.add_argument("--name", default="ann")
parser.add_argument("--port", default=5000, type=int)
service = Service(app, parser, env_prefix="CLICK_ON_OFF_")
create_app = service.create_app  # for servers that only call plain names

settings = {}


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    settings.update(verbose=app.config["VERBOSE"], color=app.config["COLOR"], cache=app.config["CACHE"], hello=f"hi {app.config['NAME']}")


@app.route("/")
def index():
    return settings


def main():
    service.main()


if __name__ == "__main__":
    main()
