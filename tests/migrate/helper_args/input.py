import argparse
import sqlite3

from flask import Flask

app = Flask(__name__)
db = None


def open_db(a):
    conn = sqlite3.connect(a.db, check_same_thread=False)
    conn.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT, v TEXT)")
    conn.execute("INSERT INTO kv VALUES ('owner', ?)", (a.owner,))
    return conn


@app.route("/owner")
def owner():
    return {"owner": db.execute("SELECT v FROM kv WHERE k = 'owner'").fetchone()[0]}


def main():
    global db
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=":memory:")
    parser.add_argument("--owner", default="nobody")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    db = open_db(args)
    app.run(port=args.port)


if __name__ == "__main__":
    main()
