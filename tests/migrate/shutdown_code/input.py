import argparse

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return {"log": log.name}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", default="served.log")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    global log
    log = open(args.log, "w")
    app.run(port=args.port)
    log.write("stopped\n")
    log.close()


if __name__ == "__main__":
    main()
