import argparse

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return f"{f'{args.name}'}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="ann")
    args = parser.parse_args()
    app.run()
