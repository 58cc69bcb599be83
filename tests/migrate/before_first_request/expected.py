from flask import Flask
from flaskd import Service

app = Flask(__name__)

service = Service(app, env_prefix="BEFORE_FIRST_REQUEST_", serve={"port": 5050})
create_app = service.create_app  # for servers that only call plain names

cache = {}


@service.on_startup
def warm_cache(app):
    cache["answer"] = 42


@app.route("/")
def answer():
    return {"answer": cache.get("answer")}


if __name__ == "__main__":
    # debug: pass --dev for Flask's reloader and debugger (never on in production)
    service.main()
