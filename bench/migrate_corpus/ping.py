from flask import Flask, jsonify
import sys

app = Flask(__name__)


@app.route("/ping")
def ping():
    return jsonify(pong=True)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    app.run(port=port)


@app.route("/version")
def version():
    return jsonify(python=sys.version.split()[0], app="ping", build=app.config.get("BUILD", "dev"))
