"""An optparse script with a __future__ import, optparse imported beside sys."""

from __future__ import annotations

import optparse, sys
from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return {"motd": options.motd, "python": sys.version_info[0]}


if __name__ == "__main__":
    parser = optparse.OptionParser()
    parser.add_option("--motd", default="hi")
    options, args = parser.parse_args()
    app.run(port=5000)
