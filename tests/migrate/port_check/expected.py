"""A model server that refuses to start on a busy port, and says where it listens."""

import argparse
import socket

from flask import Flask, jsonify
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=5000)
parser.add_argument("--model", default="tiny")
parser.add_argument("--name", default="demo")
service = Service(app, parser, env_prefix="PORT_CHECK_", serve={"host": "127.0.0.1"})
create_app = service.create_app  # for servers that only call plain names

model = {}


# TODO(flaskd): the script stopped when the port was taken (if is_port_in_use(args.port): ...); that check is dropped: flaskd binds the address before this hook runs (the check would always fail here), and stops itself with an error naming the address when it is taken
@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    model["name"] = app.config["MODEL"]
    # TODO(flaskd): this reads the serving port: flaskd's port setting, which a server given its own address (waitress-serve --listen, gunicorn --bind) does not follow
    print(f"Serving {app.config['MODEL']} on http://127.0.0.1:{app.config['PORT']}")


def is_port_in_use(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@app.route("/predict")
def predict():
    return jsonify(model=model["name"], name=app.config["NAME"])


if __name__ == "__main__":
    service.main()
