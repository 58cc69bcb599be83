from flask import Flask

app = Flask(__name__)
cache = {}


@app.before_first_request
def warm_cache():
    cache["answer"] = 42


@app.route("/")
def answer():
    return {"answer": cache.get("answer")}


if __name__ == "__main__":
    app.run(port=5050, debug=True)
