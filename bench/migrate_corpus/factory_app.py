"""Application factory layout squeezed into one file."""
import argparse
import os

from flask import Blueprint, Flask, current_app, jsonify

api = Blueprint("api", __name__, url_prefix="/api")


@api.route("/config")
def show_config():
    return jsonify({k: str(v) for k, v in current_app.config.items() if k.startswith("APP_")})


@api.route("/env")
def env():
    return jsonify(env=current_app.config["APP_ENV"])


def create_app(env="development"):
    app = Flask(__name__)
    app.config["APP_ENV"] = env
    app.config["APP_DATA"] = os.environ.get("APP_DATA", "/tmp")
    app.register_blueprint(api)

    @app.route("/")
    def index():
        return "factory app running in " + env

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="development", choices=["development", "production"])
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    create_app(args.env).run(port=args.port)
