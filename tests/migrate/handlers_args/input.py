import argparse

from flask import Flask

app = Flask(__name__)


@app.route("/")
def show():
    return {
        "color": args.color,
        "size": vars(args)["size"],
        "shape": getattr(args, "shape", "round"),
        "verbose": args.verbose,
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--color", choices=["red", "blue"], default="red")
    ap.add_argument("--size", type=int, default=3)
    ap.add_argument("--shape", default="square")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    args = ap.parse_args()
    app.run(host=args.host, port=args.port)
