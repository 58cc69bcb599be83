import argparse

from flask import Flask

app = Flask(__name__)


def get_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="world")
    return parser.parse_args()


@app.route("/")
def hello():
    return {"name": get_args().name}


if __name__ == "__main__":
    args = get_args()
    app.run()
