"""The port is computed from an option on the main path: no option to serve on."""

import argparse

from flask import Flask

app = Flask(__name__)

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-port", type=int, default=5000)
    args = parser.parse_args()
    PORT = args.base_port + 1
    app.run(port=PORT)
