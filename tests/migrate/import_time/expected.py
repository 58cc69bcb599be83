import argparse
import os

from flask import Flask
from flaskd import Service

parser = argparse.ArgumentParser()
parser.add_argument("--data-dir", default="data")

app = Flask(__name__)

service = Service(app, parser, env_prefix="IMPORT_TIME_")
create_app = service.create_app  # for servers that only call plain names

DATA = None


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    global DATA
    DATA = os.path.abspath(app.config["DATA_DIR"])


@app.route("/")
def where():
    return {"data": DATA}


if __name__ == "__main__":
    service.main()
