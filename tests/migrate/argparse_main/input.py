import argparse
import sqlite3

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/items")
def items():
    rows = db.execute("SELECT name FROM items").fetchall()
    return jsonify(title=args.title, items=[r[0] for r in rows])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Inventory")
    parser.add_argument("--db", default="inventory.sqlite")
    parser.add_argument("--title", default="Inventory")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    # open the database
    db = sqlite3.connect(args.db, check_same_thread=False)
    db.execute("CREATE TABLE IF NOT EXISTS items (name TEXT)")
    app.run(host="127.0.0.1", port=args.port)
