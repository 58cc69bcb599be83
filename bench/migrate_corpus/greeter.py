import argparse

from flask import Flask

app = Flask(__name__)
greeting = None
counter = {"hits": 0}


@app.route("/")
def hello():
    counter["hits"] += 1
    return {"greeting": greeting, "hits": counter["hits"], "name": NAME}


def main():
    """Serve the greeter."""
    global greeting, NAME
    parser = argparse.ArgumentParser()
    parser.add_argument("--greeting", default="hello")
    parser.add_argument("--name", default="world")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    greeting = args.greeting.upper()
    NAME = args.name
    app.run(port=args.port)


if __name__ == "__main__":
    main()
