import argparse

from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--greeting", default="hello")
parser.add_argument("--name", default="world")
parser.add_argument("-p", "--port", type=int, default=5000)
service = Service(app, parser, env_prefix="MAIN_FUNCTION_")
create_app = service.create_app  # for servers that only call plain names

greeting = None
counter = {"hits": 0}

NAME = None


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    global NAME, greeting
    greeting = app.config["GREETING"].upper()
    NAME = app.config["NAME"]


@app.route("/")
def hello():
    counter["hits"] += 1
    return {"greeting": greeting, "hits": counter["hits"], "name": NAME}


def main():
    """Serve the greeter."""
    service.main()


if __name__ == "__main__":
    main()
