"""An app with a required mutually exclusive group and a required secret."""

import argparse

from flask import Flask

from flaskd import Service

app = Flask(__name__)
parser = argparse.ArgumentParser()
storage = parser.add_mutually_exclusive_group(required=True)
storage.add_argument("--sqlite", help="a SQLite file")
storage.add_argument("--postgres", help="a PostgreSQL URL")
parser.add_argument("--api-token", required=True)
service = Service(app, parser, env_prefix="EXCL_")


@app.get("/")
def index():
    return app.config["SQLITE"] or app.config["POSTGRES"]


if __name__ == "__main__":
    service.main()
