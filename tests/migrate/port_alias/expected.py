import argparse

from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--listen-port", "--port", type=int, default=8080)
service = Service(app, parser, env_prefix="PORT_ALIAS_", serve={"host": "0.0.0.0"})
create_app = service.create_app  # for servers that only call plain names


@app.route("/")
def index():
    return {"port": app.config["PORT"]}


if __name__ == "__main__":
    service.main()
