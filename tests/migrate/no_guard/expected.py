from flask import Flask
from flaskd import Service

app = Flask(__name__)

service = Service(app, env_prefix="NO_GUARD_", serve={"port": 5001})
create_app = service.create_app  # for servers that only call plain names


@app.route("/")
def index():
    return "hi"


if __name__ == "__main__":
    service.main()
