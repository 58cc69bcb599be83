"""A script that sets up logging itself, in a start-up hook (as migrate moves it there)."""

import logging

from flask import Flask

from flaskd import Service

app = Flask(__name__)
service = Service(app, env_prefix="OWN_LOGGING_")
log = logging.getLogger("own_logging")


@service.on_startup
def set_up_logging(app):
    logging.basicConfig(level=logging.DEBUG, format="app %(levelname)s %(name)s %(message)s")


@app.get("/")
def index():
    log.debug("hello from the app")
    return "ok"


if __name__ == "__main__":
    service.main()
