"""A hit counter behind nginx: one request at a time, --debug given a value."""

import argparse

from flask import Flask, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix

app = Flask(__name__)
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
hits = {"n": 0}


@app.route("/hit")
def hit():
    hits["n"] += 1
    return jsonify(hits=hits["n"], client=request.remote_addr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-d", "--debug", default=False, help="debug mode")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    app.run(host="127.0.0.1", port=args.port, debug=args.debug, threaded=False)
