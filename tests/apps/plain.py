"""A plain Flask app that knows nothing of flaskd."""

from flask import Flask

app = Flask(__name__)
app.config["GREETING"] = "hello"


@app.get("/")
def index():
    return app.config["GREETING"]
