from flask import Blueprint

bp = Blueprint("api", __name__)


@bp.before_app_first_request
def setup():
    pass


@bp.route("/ping")
def ping():
    return "pong"
