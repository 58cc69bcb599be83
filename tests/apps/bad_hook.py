"""An app whose start-up hook fails, as with an unreachable database."""

from flask import Flask

from flaskd import Service

app = Flask(__name__)
service = Service(app, env_prefix="BADHOOK_")
create_app = service.create_app


@service.on_startup
def connect(app):
    raise ConnectionError("database at db.internal:5432 refused the connection")


@app.get("/")
def index():
    return "should never be served"


if __name__ == "__main__":
    service.main()
