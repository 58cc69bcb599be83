import argparse
import logging

from flask import Flask, jsonify

app = Flask(__name__)
MODELS = {}


def load_model(path):
    return {"path": path, "layers": 3}


@app.route("/predict")
def predict():
    model = MODELS["main"]
    return jsonify(model=model["path"], layers=model["layers"], threshold=args.threshold)


def parse(argv=None):
    """Read the command line."""
    parser = argparse.ArgumentParser(description="Model API")
    parser.add_argument("--model", default="model.bin")
    # below this, predictions are dropped
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse()
    logging.basicConfig(level=logging.INFO)
    MODELS["main"] = load_model(args.model)
    app.run(host=args.host, port=args.port)
