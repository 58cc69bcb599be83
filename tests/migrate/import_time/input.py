import argparse
import os

from flask import Flask

parser = argparse.ArgumentParser()
parser.add_argument("--data-dir", default="data")
args = parser.parse_args()

app = Flask(__name__)
DATA = os.path.abspath(args.data_dir)


@app.route("/")
def where():
    return {"data": DATA}


if __name__ == "__main__":
    app.run()
