import argparse
from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--name", default="ann")
service = Service(app, parser, env_prefix="CLICK_COMPREHENSION_")
create_app = service.create_app  # for servers that only call plain names

names = []


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    names.extend(name.title() for name in app.config["NAME"].split(","))


def main():
    service.main()


if __name__ == "__main__":
    main()
