import argparse

from flask import Flask

app = Flask(__name__)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--init-only", action="store_true")
    args = parser.parse_args()
    if args.init_only:
        print("initialised")
        return
    app.run()


if __name__ == "__main__":
    main()
