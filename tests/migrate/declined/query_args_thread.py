import argparse
import threading

from flask import Flask, request

app = Flask(__name__)


def refresh(options):
    print(options.db)


@app.get("/search")
def search():
    return {"q": request.args.get("q", "")}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="x.sqlite")
    args = parser.parse_args()
    threading.Thread(target=refresh, args=(args,), daemon=True).start()
    app.run()
