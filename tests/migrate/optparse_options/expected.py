import argparse

from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser(usage="%(prog)s [options]")
parser.add_argument("-m", "--motd", default="hi", help="message (default %(default)s)")
parser.add_argument("--repeat", type=int, default=1)
parser.add_argument("--port", type=int, default=5000)
service = Service(app, parser, env_prefix="OPTPARSE_OPTIONS_")
create_app = service.create_app  # for servers that only call plain names


@app.route("/")
def index():
    return {"motd": app.config["MOTD"], "repeat": app.config["REPEAT"]}


if __name__ == "__main__":
    service.main()
