import argparse

from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--motto", default="ok")
parser.add_argument("-n", "--times", type=int, default=1)
parser.add_argument("--port", type=int, default=5000)
service = Service(app, parser, env_prefix="PARSER_BUILDER_CHAINED_", serve={"host": "127.0.0.1"})
create_app = service.create_app  # for servers that only call plain names


@app.route("/")
def motto():
    return {"motto": app.config["MOTTO"], "times": app.config["TIMES"]}


if __name__ == "__main__":
    service.main()
