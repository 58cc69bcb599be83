import argparse

from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser(description="Greeter")
parser.add_argument("--name", default="world")
tuning = parser.add_argument_group("tuning")
tuning.add_argument("--retries", type=int, default=1)
tuning.add_argument("--loud", action="store_true")
parser.add_argument("--port", type=int, default=5000)
service = Service(app, parser, env_prefix="PARSER_BUILDER_")
create_app = service.create_app  # for servers that only call plain names

settings = {}

RETRIES = None


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    global RETRIES
    if app.config["RETRIES"] < 0:
        parser.error("--retries must be >= 0")
    settings["name"] = app.config["NAME"]
    settings["loud"] = app.config["LOUD"]
    RETRIES = app.config["RETRIES"]


@app.route("/")
def index():
    return {"name": settings["name"], "loud": settings["loud"], "retries": RETRIES}


def main():
    service.main()


if __name__ == "__main__":
    main()
