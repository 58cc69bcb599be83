"""A webhook receiver with a click command line."""

import click
from flask import Flask, jsonify

app = Flask(__name__)
received = []


@app.route("/hooks")
def hooks():
    return jsonify(channel=app.config["CHANNEL"], received=received)


@click.command(help="Receive webhooks and keep the last ones in memory.")
@click.option("--channel", default="general", help="channel to post to")
@click.option("--port", default=5000, help="port to listen on")
def main(channel, port):
    app.config["CHANNEL"] = channel
    app.run(host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
