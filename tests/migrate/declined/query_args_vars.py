import argparse

from flask import Flask, request

app = Flask(__name__)


@app.get("/search")
def search():
    return {"q": request.args.get("q", "")}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="x.sqlite")
    args = parser.parse_args()
    print(vars(args))
    app.run()
