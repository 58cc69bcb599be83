"""An app in a file with a generic name: its derived env prefix is SERVER_."""

import argparse

from flask import Flask

from flaskd import Service

app = Flask(__name__)
parser = argparse.ArgumentParser()
parser.add_argument("--title", default="T")
service = Service(app, parser)
