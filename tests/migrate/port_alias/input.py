import argparse

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return {"port": args.listen_port}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen-port", type=int, default=8080)
    args = parser.parse_args()
    app.run("0.0.0.0", args.listen_port)
