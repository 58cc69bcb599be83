"""OAuth callback catcher for local development: needs HTTPS for the provider."""
import argparse
import logging

from flask import Flask, request

app = Flask(__name__)
logging.basicConfig(level=logging.INFO)
received = []


@app.route("/callback")
def callback():
    received.append(dict(request.args))
    logging.info("callback: %s", dict(request.args))
    if "error" in request.args:
        return f"<h1>Error</h1><p>{request.args['error']}</p>", 400
    return "<h1>Got it</h1><p>You can close this tab.</p>"


@app.route("/received")
def show():
    return {"callbacks": received}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", default="cert.pem")
    parser.add_argument("--key", default="key.pem")
    parser.add_argument("--port", type=int, default=8443)
    args = parser.parse_args()
    app.run(port=args.port, ssl_context=(args.cert, args.key))
