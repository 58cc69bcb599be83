import argparse

from flask import Flask

app = Flask(__name__)
settings = {}


@app.route("/")
def index():
    return {"name": settings["name"], "loud": settings["loud"], "retries": RETRIES}


def build_parser():
    p = argparse.ArgumentParser(description="Greeter")
    p.add_argument("--name", default="world")
    tuning = p.add_argument_group("tuning")
    tuning.add_argument("--retries", type=int, default=1)
    tuning.add_argument("--loud", action="store_true")
    p.add_argument("--port", type=int, default=5000)
    return p


def main():
    global RETRIES
    parser = build_parser()
    args = parser.parse_args()
    if args.retries < 0:
        parser.error("--retries must be >= 0")
    settings["name"] = args.name
    settings["loud"] = args.loud
    RETRIES = args.retries
    app.run(port=args.port)


if __name__ == "__main__":
    main()
