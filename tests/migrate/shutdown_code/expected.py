import argparse

from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--log", default="served.log")
parser.add_argument("--port", type=int, default=5000)
service = Service(app, parser, env_prefix="SHUTDOWN_CODE_")
create_app = service.create_app  # for servers that only call plain names

log = None


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    global log
    log = open(app.config["LOG"], "w")


@service.on_shutdown
def shutdown(app):
    """Run on a graceful stop: the code that followed app.run() in the script."""
    log.write("stopped\n")
    log.close()


@app.route("/")
def index():
    return {"log": log.name}


def main():
    service.main()


if __name__ == "__main__":
    main()
