# message_board.py - anonymous message board for the office wall screen
import argparse
import atexit
import json
import os
import threading
import time
import uuid

from flask import Flask, jsonify, redirect, render_template_string, request

app = Flask(__name__)
messages = []
lock = threading.Lock()

TEMPLATE = """<!doctype html>
<meta http-equiv="refresh" content="30">
<title>Board</title>
<style>
  body { font: 20px/1.4 sans-serif; margin: 2em; }
  .msg { border-left: 4px solid #39f; padding: .2em .8em; margin: .6em 0; }
  .meta { color: #888; font-size: 60%; }
</style>
<form method="post" action="/post"><input name="text" size="80" maxlength="280"><button>Post</button></form>
{% for m in messages|reverse %}
<div class="msg">{{ m.text }}<div class="meta">{{ m.when }}</div></div>
{% endfor %}
"""


def load(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return []


def save(path):
    with lock:
        data = list(messages)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


@app.route("/")
def board():
    with lock:
        shown = messages[-app.config["KEEP"]:]
    return render_template_string(TEMPLATE, messages=shown)


@app.route("/post", methods=["POST"])
def post():
    text = request.form.get("text", "").strip()[:280]
    if text:
        with lock:
            messages.append({"id": uuid.uuid4().hex, "text": text, "when": time.strftime("%H:%M")})
            del messages[: -app.config["KEEP"]]
    return redirect("/")


@app.route("/api/messages")
def api_messages():
    with lock:
        return jsonify(messages)


@app.route("/api/messages/<mid>", methods=["DELETE"])
def api_delete(mid):
    with lock:
        messages[:] = [m for m in messages if m["id"] != mid]
    return "", 204


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", default="board.json", help="where messages are kept")
    parser.add_argument("--keep", type=int, default=50)
    parser.add_argument("--port", type=int, default=8088)
    args = parser.parse_args()
    app.config["KEEP"] = args.keep
    messages.extend(load(args.store))
    print("loaded %d messages" % len(messages))
    app.run(host="0.0.0.0", port=args.port)
    save(args.store)
    print("saved")
