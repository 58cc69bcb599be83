"""A link list: settings from config.py, a logger, links loaded from a file at start."""

import argparse
import logging

from flask import Flask, jsonify
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--links", default="links.txt")
parser.add_argument("--port", type=int, default=5000)
service = Service(app, parser, env_prefix="HOOK_PLACEMENT_")
create_app = service.create_app  # for servers that only call plain names

app.config.from_object("config")
log = logging.getLogger("links")
links = {}


def load(path):
    with open(path) as f:
        for line in f:
            name, _, url = line.strip().partition(" ")
            links[name] = url
    log.info("%d links from %s", len(links), path)


loaded = None


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    global loaded
    logging.basicConfig(level=app.config["LOG_LEVEL"])
    load(app.config["LINKS"])
    loaded = len(links)


@app.route("/links")
def listing():
    return jsonify(links=links, site=app.config["SITE"], loaded=loaded)


if __name__ == "__main__":
    service.main()
