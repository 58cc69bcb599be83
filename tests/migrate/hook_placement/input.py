"""A link list: settings from config.py, a logger, links loaded from a file at start."""

import argparse
import logging

from flask import Flask, jsonify

app = Flask(__name__)
app.config.from_object("config")
log = logging.getLogger("links")
links = {}


def load(path):
    with open(path) as f:
        for line in f:
            name, _, url = line.strip().partition(" ")
            links[name] = url
    log.info("%d links from %s", len(links), path)


@app.route("/links")
def listing():
    return jsonify(links=links, site=app.config["SITE"], loaded=loaded)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", default="links.txt")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    logging.basicConfig(level=app.config["LOG_LEVEL"])
    load(args.links)
    loaded = len(links)
    app.run(port=args.port)
