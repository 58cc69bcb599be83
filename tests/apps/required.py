"""An app with a required option and a positional argument, as real scripts have."""

import argparse

from flask import Flask

from flaskd import Service

app = Flask(__name__)
parser = argparse.ArgumentParser()
parser.add_argument("name", help="who to greet")
parser.add_argument("--db", required=True)
service = Service(app, parser, env_prefix="TESTAPP_")


@app.get("/")
def index():
    return f"hello {app.config['NAME']} from {app.config['DB']}"


if __name__ == "__main__":
    service.main()
