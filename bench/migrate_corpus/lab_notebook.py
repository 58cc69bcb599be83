"""Electronic lab notebook for the bench: samples, runs and instrument readings.

Start with ``python lab_notebook.py --data /srv/eln --port 8500``.
"""

import argparse
import csv
import io
import json
import os
import statistics
import uuid
from datetime import datetime, timezone

from flask import Flask, abort, jsonify, make_response, render_template_string, request

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024

UNITS = {"temperature": "°C", "ph": "pH", "conductivity": "µS/cm", "od600": "AU", "mass": "g"}
STATE = {"samples": {}, "runs": {}}

PAGE = """<!doctype html><meta charset="utf-8"><title>ELN · {{ title }}</title>
<style>body{font:15px sans-serif;margin:1.5em} table{border-collapse:collapse} td,th{padding:.2em .6em;border:1px solid #ccc}</style>
<h1>{{ title }}</h1>{{ body|safe }}"""


def data_file(kind):
    return os.path.join(app.config["DATA"], f"{kind}.json")


def load_state():
    for kind in STATE:
        path = data_file(kind)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                STATE[kind] = json.load(f)


def save(kind):
    path = data_file(kind)
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(STATE[kind], f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def stamp():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def table(headers, rows):
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def summarize(readings):
    by_kind = {}
    for r in readings:
        by_kind.setdefault(r["kind"], []).append(r["value"])
    out = {}
    for kind, values in by_kind.items():
        out[kind] = {
            "n": len(values),
            "mean": round(statistics.fmean(values), 4),
            "sd": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
            "min": min(values),
            "max": max(values),
            "unit": UNITS.get(kind, ""),
        }
    return out


@app.route("/")
def home():
    rows = [
        (f'<a href="/samples/{sid}">{s["label"]}</a>', s["project"], s["created"], len(s.get("runs", [])))
        for sid, s in sorted(STATE["samples"].items(), key=lambda kv: kv[1]["created"], reverse=True)
    ]
    body = table(["Sample", "Project", "Created", "Runs"], rows)
    return render_template_string(PAGE, title=app.config["LAB_NAME"], body=body)


@app.route("/samples", methods=["POST"])
def new_sample():
    data = request.get_json(force=True)
    if not data.get("label"):
        abort(400, "label required")
    sid = uuid.uuid4().hex[:10]
    STATE["samples"][sid] = {
        "label": data["label"],
        "project": data.get("project", "default"),
        "notes": data.get("notes", ""),
        "created": stamp(),
        "runs": [],
    }
    save("samples")
    return jsonify(id=sid), 201


@app.route("/samples/<sid>")
def show_sample(sid):
    sample = STATE["samples"].get(sid) or abort(404)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(sample)
    runs = [STATE["runs"][r] for r in sample["runs"] if r in STATE["runs"]]
    rows = [(r["id"], r["protocol"], r["started"], r.get("finished", "running"), len(r["readings"])) for r in runs]
    body = f"<p>{sample['project']} · {sample['created']}</p><p>{sample['notes']}</p>"
    body += table(["Run", "Protocol", "Started", "Finished", "Readings"], rows)
    return render_template_string(PAGE, title=sample["label"], body=body)


@app.route("/samples/<sid>/runs", methods=["POST"])
def start_run(sid):
    sample = STATE["samples"].get(sid) or abort(404)
    data = request.get_json(silent=True) or {}
    rid = uuid.uuid4().hex[:10]
    STATE["runs"][rid] = {
        "id": rid,
        "sample": sid,
        "protocol": data.get("protocol", "unspecified"),
        "operator": data.get("operator", request.remote_addr),
        "started": stamp(),
        "readings": [],
    }
    sample["runs"].append(rid)
    save("runs")
    save("samples")
    return jsonify(id=rid), 201


@app.route("/runs/<rid>/readings", methods=["POST"])
def add_readings(rid):
    run = STATE["runs"].get(rid) or abort(404)
    if "finished" in run:
        abort(409, "run is finished")
    payload = request.get_json(force=True)
    readings = payload if isinstance(payload, list) else [payload]
    for r in readings:
        kind = r.get("kind")
        if kind not in UNITS:
            abort(400, f"unknown kind {kind!r}")
        try:
            value = float(r["value"])
        except (KeyError, TypeError, ValueError):
            abort(400, "value must be a number")
        run["readings"].append({"kind": kind, "value": value, "at": r.get("at") or stamp()})
    if len(run["readings"]) > app.config["MAX_READINGS"]:
        run["readings"] = run["readings"][-app.config["MAX_READINGS"]:]
    save("runs")
    return jsonify(count=len(run["readings"]))


@app.route("/runs/<rid>/finish", methods=["POST"])
def finish_run(rid):
    run = STATE["runs"].get(rid) or abort(404)
    run["finished"] = stamp()
    run["summary"] = summarize(run["readings"])
    save("runs")
    return jsonify(run["summary"])


@app.route("/runs/<rid>.csv")
def run_csv(rid):
    run = STATE["runs"].get(rid) or abort(404)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["at", "kind", "value", "unit"])
    for r in run["readings"]:
        writer.writerow([r["at"], r["kind"], r["value"], UNITS[r["kind"]]])
    response = make_response(buf.getvalue())
    response.headers["Content-Type"] = "text/csv"
    response.headers["Content-Disposition"] = f"attachment; filename=run-{rid}.csv"
    return response


@app.route("/runs/<rid>/summary")
def run_summary(rid):
    run = STATE["runs"].get(rid) or abort(404)
    return jsonify(run.get("summary") or summarize(run["readings"]))


@app.route("/projects/<project>/export")
def export_project(project):
    samples = {sid: s for sid, s in STATE["samples"].items() if s["project"] == project}
    runs = {rid: r for rid, r in STATE["runs"].items() if r["sample"] in samples}
    return jsonify(project=project, samples=samples, runs=runs, exported=stamp())


def parse_args():
    parser = argparse.ArgumentParser(description="Bench electronic lab notebook")
    parser.add_argument("--data", default="./eln-data", help="where the JSON files live")
    parser.add_argument("--lab-name", default="Lab notebook")
    parser.add_argument("--max-readings", type=int, default=100000)
    parser.add_argument("--port", type=int, default=8500)
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    app.config["DATA"] = args.data
    app.config["LAB_NAME"] = args.lab_name
    app.config["MAX_READINGS"] = args.max_readings
    os.makedirs(args.data, exist_ok=True)
    load_state()
    app.run(host="127.0.0.1", port=args.port)
