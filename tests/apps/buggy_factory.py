"""A factory with a bug inside it."""

from flask import Flask


def create_app():
    settings = {}
    return Flask(settings["missing"])
