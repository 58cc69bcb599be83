"""Routes for the reports API, registered by app.py."""
import csv
import io
from datetime import date, timedelta

from flask import Blueprint, Response, abort, jsonify, request

reports = Blueprint("reports", __name__, url_prefix="/reports")

DATA = {}


def parse_day(text):
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        abort(400, description=f"bad date: {text!r}")


def days(start, end):
    while start <= end:
        yield start
        start += timedelta(days=1)


@reports.route("/daily")
def daily():
    start = parse_day(request.args.get("from"))
    end = parse_day(request.args.get("to", date.today().isoformat()))
    rows = [{"day": d.isoformat(), "count": DATA.get(d, 0)} for d in days(start, end)]
    return jsonify(rows)


@reports.route("/daily.csv")
def daily_csv():
    start = parse_day(request.args.get("from"))
    end = parse_day(request.args.get("to", date.today().isoformat()))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["day", "count"])
    for d in days(start, end):
        writer.writerow([d.isoformat(), DATA.get(d, 0)])
    return Response(buf.getvalue(), mimetype="text/csv")


@reports.route("/record", methods=["POST"])
def record():
    day = parse_day(request.json.get("day"))
    DATA[day] = DATA.get(day, 0) + int(request.json.get("count", 1))
    return jsonify(day=day.isoformat(), count=DATA[day])
