"""An image gallery whose options come from a get_args() helper."""

import argparse
import os

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/gallery")
def gallery():
    root = app.config["ROOT"]
    images = sorted(os.listdir(root)) if os.path.isdir(root) else []
    return jsonify(root=root, images=images, title=app.config["TITLE"])


def get_args():
    parser = argparse.ArgumentParser(description="Image gallery")
    parser.add_argument("--root", default="images", help="folder of images")
    parser.add_argument("--title", default="Gallery")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=8000)
    args = parser.parse_args()
    return args


if __name__ == "__main__":
    args = get_args()
    app.config["ROOT"] = args.root
    app.config["TITLE"] = args.title
    app.run(host=args.host, port=args.port)
