"""Options read inside f-strings: the key gets a quote valid there on Python 3.11."""

import argparse

from flask import Flask

app = Flask(__name__)
banner = {}


@app.route("/")
def index():
    return {
        "double": f"{args.name}",
        "single": f'{args.name}',
        "triple": f"""<{args.name}>""",
        "nested": f'''{f"{args.name!r}"}''',
        "spec": f"{args.name:>{args.width}}",
        "vars": f"{vars(args)['width']}",
        "getattr": f"{getattr(args, 'name', 'x')}",
        "banner": banner["text"],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="ann")
    parser.add_argument("--width", type=int, default=5)
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    banner["text"] = f"hello {args.name.upper()}"
    app.run(port=args.port)
