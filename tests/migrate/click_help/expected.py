"""A webhook receiver with a click command line."""

import argparse
from flask import Flask, jsonify
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser(description="Receive webhooks and keep the last ones in memory.")
parser.add_argument("--channel", default="general", help="channel to post to")
parser.add_argument("--port", default=5000, help="port to listen on", type=int)
service = Service(app, parser, env_prefix="CLICK_HELP_", serve={"host": "127.0.0.1"})
create_app = service.create_app  # for servers that only call plain names

received = []


@app.route("/hooks")
def hooks():
    return jsonify(channel=app.config["CHANNEL"], received=received)


def main():
    service.main()


if __name__ == "__main__":
    main()
