import argparse

from flask import Flask


def build_parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="world")
    return parser


args = build_parser().parse_args()
app = Flask(__name__)


@app.route("/")
def hello():
    return {"name": args.name}


if __name__ == "__main__":
    app.run()
