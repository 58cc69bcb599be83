from flask import Blueprint

bp = Blueprint("api", __name__)


# TODO(flaskd): before_app_first_request was removed in Flask 2.3; register this with @service.on_startup in the app's module
@bp.before_app_first_request
def setup():
    pass


@bp.route("/ping")
def ping():
    return "pong"
