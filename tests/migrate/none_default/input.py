"""Options without defaults, filled in after parsing as older scripts do."""

import argparse

from flask import Flask

app = Flask(__name__)


@app.route("/")
def greet():
    return {"greeting": args.greeting * args.times}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host")
    parser.add_argument("--port")
    parser.add_argument("--greeting")
    parser.add_argument("--times", type=int)
    args = parser.parse_args()
    if args.host is None:
        args.host = "127.0.0.1"
    if args.port == None:
        args.port = "5000"
    if args.greeting is None:
        args.greeting = "hello"
    if args.times is None:
        args.times = 2
    app.run(host=args.host, port=int(args.port))
