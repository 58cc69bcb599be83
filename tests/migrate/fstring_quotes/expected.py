"""Options read inside f-strings: the key gets a quote valid there on Python 3.11."""

import argparse

from flask import Flask
from flaskd import Service

app = Flask(__name__)

parser = argparse.ArgumentParser()
parser.add_argument("--name", default="ann")
parser.add_argument("--width", type=int, default=5)
parser.add_argument("--port", type=int, default=5000)
service = Service(app, parser, env_prefix="FSTRING_QUOTES_")
create_app = service.create_app  # for servers that only call plain names

banner = {}


@service.on_startup
def startup(app):
    """Run once per process before serving: the start-up code of the script's main path."""
    banner["text"] = f"hello {app.config['NAME'].upper()}"


@app.route("/")
def index():
    return {
        "double": f"{app.config['NAME']}",
        "single": f'{app.config["NAME"]}',
        "triple": f"""<{app.config['NAME']}>""",
        "nested": f'''{f"{app.config['NAME']!r}"}''',
        "spec": f"{app.config['NAME']:>{app.config['WIDTH']}}",
        "vars": f"{app.config['WIDTH']}",
        "getattr": f"{app.config.get('NAME', 'x')}",
        "banner": banner["text"],
    }


if __name__ == "__main__":
    service.main()
