"""Tail log files in the browser."""
import os
import re
from collections import deque

import click
from flask import Flask, Response, abort, render_template_string, request

app = Flask(__name__)
LEVEL = re.compile(r"\b(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b")

PAGE = """<!doctype html><title>{{ name }}</title>
<style>pre{font-size:12px} .ERROR,.CRITICAL{color:#c00} .WARNING{color:#a60}</style>
<p>{% for f in files %}<a href="/view/{{ f }}">{{ f }}</a> {% endfor %}</p>
<form><input name="grep" value="{{ grep }}"><button>filter</button></form>
<pre>{% for level, line in lines %}<span class="{{ level }}">{{ line }}</span>
{% endfor %}</pre>"""


def log_files():
    return sorted(f for f in os.listdir(app.config["LOG_DIR"]) if f.endswith((".log", ".txt")))


def tail(path, n, pattern=None):
    with open(path, errors="replace") as f:
        lines = deque(f, maxlen=n * 4 if pattern else n)
    out = []
    for line in lines:
        if pattern and pattern not in line:
            continue
        m = LEVEL.search(line)
        out.append((m.group(1) if m else "", line.rstrip("\n")))
    return out[-n:]


@app.route("/")
def index():
    files = log_files()
    if not files:
        return "no log files in " + app.config["LOG_DIR"]
    return view(files[0])


@app.route("/view/<name>")
def view(name):
    if name not in log_files():
        abort(404)
    grep = request.args.get("grep", "")
    lines = tail(os.path.join(app.config["LOG_DIR"], name), app.config["LINES"], grep or None)
    return render_template_string(PAGE, name=name, files=log_files(), lines=lines, grep=grep)


@app.route("/raw/<name>")
def raw(name):
    if name not in log_files():
        abort(404)
    with open(os.path.join(app.config["LOG_DIR"], name), "rb") as f:
        return Response(f.read(), mimetype="text/plain")


@click.command()
@click.option("--log-dir", envvar="LOG_DIR", default="/var/log/myapp", type=click.Path(exists=True))
@click.option("--lines", default=500)
@click.option("--port", default=7000)
def main(log_dir, lines, port):
    app.config["LOG_DIR"] = log_dir
    app.config["LINES"] = lines
    app.run(port=port)


if __name__ == "__main__":
    main()
