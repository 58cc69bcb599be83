"""A main() with `global ARGS`, a positional and a required option, the options read in a handler."""

import argparse

from flask import Flask

application = Flask(__name__)
CACHE = {}


@application.route("/")
def home():
    return {"root": CACHE["root"], "token": len(ARGS.token), "verbose": ARGS.verbose}


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("--token", required=True)
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("--port", type=int, default=8000)
    ARGS = p.parse_args()
    CACHE["root"] = ARGS.root.rstrip("/")
    application.run("127.0.0.1", ARGS.port, debug=True)


if __name__ == "__main__":
    main()
