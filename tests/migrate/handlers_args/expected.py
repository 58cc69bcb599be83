import argparse

from flask import Flask
from flaskd import Service

app = Flask(__name__)

ap = argparse.ArgumentParser()
ap.add_argument("--color", choices=["red", "blue"], default="red")
ap.add_argument("--size", type=int, default=3)
ap.add_argument("--shape", default="square")
ap.add_argument("-v", "--verbose", action="store_true")
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--port", type=int, default=8000)
service = Service(app, ap, env_prefix="HANDLERS_ARGS_")
create_app = service.create_app  # for servers that only call plain names


@app.route("/")
def show():
    return {
        "color": app.config["COLOR"],
        "size": app.config["SIZE"],
        "shape": app.config.get("SHAPE", "round"),
        "verbose": app.config["VERBOSE"],
    }


if __name__ == "__main__":
    service.main()
