import argparse

from flask import Flask

parser = argparse.ArgumentParser()
parser.add_argument("--prefix", default="/api")
args = parser.parse_args()
PREFIX = args.prefix

app = Flask(__name__)


@app.route(PREFIX + "/ping")
def ping():
    return "pong"


if __name__ == "__main__":
    app.run()
