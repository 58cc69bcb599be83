"""hello: the smallest Flask app, served by flaskd and by the bare servers alike.

`flaskd run hello.py` finds `service`, a flaskd Service around one copy of the
app. The bare servers are given `app` (`waitress-serve hello:app`, `gunicorn
hello:app`, `granian --interface wsgi hello:app`, `flask --app hello:app run`):
a second, identical Flask app that flaskd never touches, so the baseline is
Flask alone.
"""

from flask import Flask

from flaskd import Service


def make_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def hello() -> str:
        return "Hello, World!"

    return app


service = Service(make_app(), env_prefix="HELLO_")
app = make_app()
