import argparse
import logging

from flask import Flask

app = Flask(__name__)


def get_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5000)
    logging.basicConfig(level=logging.INFO)
    return parser.parse_args()


if __name__ == "__main__":
    args = get_args()
    app.run(port=args.port)
