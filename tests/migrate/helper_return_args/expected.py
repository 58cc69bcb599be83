"""An image gallery whose options come from a get_args() helper."""

import argparse
import os

from flask import Flask, jsonify
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser(description="Image gallery")
parser.add_argument("--root", default="images", help="folder of images")
parser.add_argument("--title", default="Gallery")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("-p", "--port", type=int, default=8000)
service = Service(app, parser, env_prefix="HELPER_RETURN_ARGS_")
create_app = service.create_app  # for servers that only call plain names


@app.route("/gallery")
def gallery():
    root = app.config["ROOT"]
    images = sorted(os.listdir(root)) if os.path.isdir(root) else []
    return jsonify(root=root, images=images, title=app.config["TITLE"])


if __name__ == "__main__":
    service.main()
