import argparse
import sqlite3

from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--db", default=":memory:")
parser.add_argument("--owner", default="nobody")
parser.add_argument("--port", type=int, default=5000)
service = Service(app, parser, env_prefix="HELPER_ARGS_")
create_app = service.create_app  # for servers that only call plain names

db = None


def open_db(a):
    conn = sqlite3.connect(a["DB"], check_same_thread=False)
    conn.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT, v TEXT)")
    conn.execute("INSERT INTO kv VALUES ('owner', ?)", (a["OWNER"],))
    return conn


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    global db
    db = open_db(app.config)


@app.route("/owner")
def owner():
    return {"owner": db.execute("SELECT v FROM kv WHERE k = 'owner'").fetchone()[0]}


def main():
    service.main()


if __name__ == "__main__":
    main()
