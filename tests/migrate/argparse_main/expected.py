import argparse
import sqlite3

from flask import Flask, jsonify
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser(description="Inventory")
parser.add_argument("--db", default="inventory.sqlite")
parser.add_argument("--title", default="Inventory")
parser.add_argument("--port", type=int, default=5000)
service = Service(app, parser, env_prefix="ARGPARSE_MAIN_", serve={"host": "127.0.0.1"})
create_app = service.create_app  # for servers that only call plain names

db = None


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    global db
    # open the database
    db = sqlite3.connect(app.config["DB"], check_same_thread=False)
    db.execute("CREATE TABLE IF NOT EXISTS items (name TEXT)")


@app.route("/items")
def items():
    rows = db.execute("SELECT name FROM items").fetchall()
    return jsonify(title=app.config["TITLE"], items=[r[0] for r in rows])


if __name__ == "__main__":
    service.main()
