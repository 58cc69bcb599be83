"""A main() with `global ARGS`, a positional and a required option, the options read in a handler."""

import argparse

from flask import Flask
from flaskd import Service

application = Flask(__name__)

p = argparse.ArgumentParser()
p.add_argument("root")
p.add_argument("--token", required=True)
p.add_argument("-v", "--verbose", action="count", default=0)
p.add_argument("--port", type=int, default=8000)
service = Service(application, p, env_prefix="GLOBAL_ARGS_", serve={"host": "127.0.0.1"})
create_app = service.create_app  # for servers that only call plain names

CACHE = {}


@service.on_startup
def startup(application):
    """Run once per process before serving: the start-up code of the script's main path."""
    CACHE["root"] = application.config["ROOT"].rstrip("/")


@application.route("/")
def home():
    return {"root": CACHE["root"], "token": len(application.config["TOKEN"]), "verbose": application.config["VERBOSE"]}


def main():
    # debug: pass --dev for Flask's reloader and debugger (never on in production)
    service.main()


if __name__ == "__main__":
    main()
