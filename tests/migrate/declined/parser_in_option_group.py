"""A wiki served from optparse, its options in a group: OptionGroup holds the parser."""

from optparse import OptionGroup, OptionParser

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return app.config.get("NAME", "wiki")


if __name__ == "__main__":
    parser = OptionParser()
    parser.add_option("--port", type="int", default=5005)
    group = OptionGroup(parser, "Wiki options")
    group.add_option("--name", default="Team wiki")
    parser.add_option_group(group)
    options, _ = parser.parse_args()
    app.config["NAME"] = options.name
    app.run(port=options.port)
