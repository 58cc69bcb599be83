import argparse
import sqlite3

from flask import Flask, request

app = Flask(__name__)


def open_db(args):
    print(args)
    return sqlite3.connect(args.db)


@app.get("/search")
def search():
    return {"q": request.args.get("q", "")}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="x.sqlite")
    args = parser.parse_args()
    db = open_db(args)
    app.run()
