import argparse
import logging

from flask import Flask, jsonify
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser(description="Model API")
parser.add_argument("--model", default="model.bin")
# below this, predictions are dropped
parser.add_argument("--threshold", type=float, default=0.5)
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=5000)
service = Service(app, parser, env_prefix="PARSER_HELPER_")
create_app = service.create_app  # for servers that only call plain names

MODELS = {}


def load_model(path):
    return {"path": path, "layers": 3}


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    logging.basicConfig(level=logging.INFO)
    MODELS["main"] = load_model(app.config["MODEL"])


@app.route("/predict")
def predict():
    model = MODELS["main"]
    return jsonify(model=model["path"], layers=model["layers"], threshold=app.config["THRESHOLD"])


if __name__ == "__main__":
    service.main()
