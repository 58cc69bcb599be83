"""An optparse script with a __future__ import, optparse imported beside sys."""

from __future__ import annotations

import argparse
import sys
from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--motd", default="hi")
service = Service(app, parser, env_prefix="OPTPARSE_FUTURE_IMPORT_", serve={"port": 5000})
create_app = service.create_app  # for servers that only call plain names


@app.route("/")
def index():
    return {"motd": app.config["MOTD"], "python": sys.version_info[0]}


if __name__ == "__main__":
    service.main()
