"""Options without defaults, filled in after parsing as older scripts do."""

import argparse

from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", default="5000")
parser.add_argument("--greeting", default="hello")
parser.add_argument("--times", type=int, default=2)
service = Service(app, parser, env_prefix="NONE_DEFAULT_")
create_app = service.create_app  # for servers that only call plain names


@app.route("/")
def greet():
    return {"greeting": app.config["GREETING"] * app.config["TIMES"]}


if __name__ == "__main__":
    service.main()
