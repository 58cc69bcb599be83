import argparse

from flask import Flask

app = Flask(__name__)

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="x")
    args = parser.parse_args()
    print(args)
    app.run()
