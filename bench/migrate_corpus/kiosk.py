import os
import sys
import json
import datetime

from flask import Flask, render_template

app = Flask(__name__, template_folder="templates")

if len(sys.argv) < 2:
    print("usage: kiosk.py SLIDES.json [port]")
    sys.exit(1)

SLIDES_FILE = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8000


def load_slides():
    with open(SLIDES_FILE) as f:
        slides = json.load(f)
    today = datetime.date.today().isoformat()
    return [s for s in slides if s.get("until", "9999") >= today]


@app.route("/")
def show():
    return render_template("kiosk.html", slides=load_slides(), interval=os.environ.get("INTERVAL", 10))


@app.route("/slides.json")
def slides_json():
    return {"slides": load_slides(), "mtime": os.path.getmtime(SLIDES_FILE)}


app.run(host="0.0.0.0", port=PORT)
