"""An app for the hostile-client tests: / answers at once, /echo reads the whole body."""

from flask import Flask, request

app = Flask(__name__)


@app.get("/")
def index():
    return "ok"


@app.post("/echo")
def echo():
    return str(len(request.get_data()))
