import argparse

from flask import Flask, request

app = Flask(__name__)


@app.get("/search")
def search():
    q = request.args.get("q", "")
    return {"q": q, "options": sorted(vars(args))}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="x.sqlite")
    args = parser.parse_args()
    app.run()
