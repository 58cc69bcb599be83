"""An app made by a factory with arguments, as `flask --app 'factory:make(...)'` allows."""

from flask import Flask


def make(greeting="hi"):
    app = Flask(__name__)

    @app.get("/")
    def index():
        return greeting

    return app
