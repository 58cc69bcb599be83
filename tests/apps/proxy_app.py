"""An app that shows what it sees of the client, for proxy-header and body-limit tests."""

from flask import Flask, request

from flaskd import Service

app = Flask(__name__)
service = Service(app, env_prefix="PROXY_")


@app.get("/")
def index():
    return {
        "remote": request.remote_addr,
        "scheme": request.scheme,
        "xff": request.headers.get("X-Forwarded-For"),
    }


@app.post("/echo")
def echo():
    return str(len(request.get_data()))


@app.get("/id")
def request_id():
    return {
        "environ": request.environ.get("flaskd.request_id"),
        "header": request.headers.get("X-Request-ID"),
    }
