from flask import Flask


def make_app():
    return Flask(__name__)


if __name__ == "__main__":
    make_app().run()
