"""A factory app configured from the command line at import, served without a guard."""

import argparse

from flask import jsonify
from myapp import create_app

parser = argparse.ArgumentParser()
parser.add_argument("--config", default="config.DevConfig")
parser.add_argument("--port", type=int, default=5000)
args = parser.parse_args()

app = create_app(args.config)


@app.route("/version")
def version():
    return jsonify(version="1.2")


app.run(host="0.0.0.0", port=args.port, debug=True)
