"""A script whose own --debug flag lands on Flask's DEBUG setting, and which names its --port."""

import argparse

from flask import Flask

from flaskd import Service

app = Flask(__name__)
parser = argparse.ArgumentParser()
parser.add_argument("--debug", action="store_true")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=5123)
service = Service(app, parser, env_prefix="TESTAPP_")


@app.get("/")
def index():
    return {"debug": app.debug, "port": app.config["PORT"]}


if __name__ == "__main__":
    service.main()
