"""A hit counter behind nginx: one request at a time, --debug given a value."""

import argparse

from flask import Flask, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
# TODO(flaskd): --debug takes a value here (--debug 1): flaskd turns on dev mode (the debugger) only for a flag; make it action="store_true", or pass --dev
parser.add_argument("-d", "--debug", default=False, help="debug mode")
parser.add_argument("--port", type=int, default=5000)
service = Service(
    app, parser, env_prefix="SERVING_ARGS_", serve={"host": "127.0.0.1", "threads": 1}
)
create_app = service.create_app  # for servers that only call plain names

# TODO(flaskd): flaskd removes X-Forwarded-* headers from clients not in --forwarded-allow-ips (FLASKD_FORWARDED_ALLOW_IPS), which cancels this ProxyFix: give it your proxy's address
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
hits = {"n": 0}


@app.route("/hit")
def hit():
    hits["n"] += 1
    return jsonify(hits=hits["n"], client=request.remote_addr)


if __name__ == "__main__":
    service.main()
