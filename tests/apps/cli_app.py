"""An app used through Flask's own CLI and app contexts: a hook, a custom command."""

import argparse

from flask import Flask

from flaskd import Service

app = Flask(__name__)
parser = argparse.ArgumentParser()
parser.add_argument("--db", default="default.sqlite")
service = Service(app, parser, env_prefix="CLIAPP_")

with app.app_context():  # at import, as Flask-SQLAlchemy users do: too early to configure
    pass


@service.on_startup
def connect(app):
    with app.app_context():  # a hook that needs an app context itself
        app.extensions["db"] = f"connected to {app.config['DB']}"
        print("startup hook ran", flush=True)


@app.cli.command("show-db")
def show_db():
    print(app.extensions["db"])


@app.get("/")
def index():
    return app.extensions["db"]


if __name__ == "__main__":
    service.main()
