import os

from flask import Flask
from flaskd import Service

app = Flask(__name__)

service = Service(
    app,
    env_prefix="PORT_ENV_",
    serve={"host": "0.0.0.0", "port": int(os.environ.get("PORT", 5000))},
)
create_app = service.create_app  # for servers that only call plain names


@app.route("/")
def index():
    return "hi"


if __name__ == "__main__":
    service.main()
