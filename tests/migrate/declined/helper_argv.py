import argparse

from flask import Flask

app = Flask(__name__)


def get_args(argv=("--port", "8080")):
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5000)
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = get_args()
    app.run(port=args.port)
