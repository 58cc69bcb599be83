import argparse

from flask import Flask

app = Flask(__name__)


@app.route("/")
def motto():
    return {"motto": args.motto, "times": args.times}


def get_parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("--motto", default="ok")
    parser.add_argument("-n", "--times", type=int, default=1)
    parser.add_argument("--port", type=int, default=5000)
    return parser


if __name__ == "__main__":
    args = get_parser().parse_args()
    app.run("127.0.0.1", args.port)
