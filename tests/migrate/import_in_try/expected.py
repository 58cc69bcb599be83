"""A notes API whose import fails with a hint when Flask is missing."""

import argparse

try:
    from flask import Flask, jsonify
except ImportError:
    raise RuntimeError("Flask is required: pip install flask")
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--owner", default="me")
parser.add_argument("--port", type=int, default=5000)
service = Service(app, parser, env_prefix="IMPORT_IN_TRY_", serve={"host": "127.0.0.1"})
create_app = service.create_app  # for servers that only call plain names

NOTES = ["first"]


@app.route("/notes")
def notes():
    return jsonify(owner=app.config["OWNER"], notes=NOTES)


if __name__ == "__main__":
    service.main()
