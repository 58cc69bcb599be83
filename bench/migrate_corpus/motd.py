from optparse import OptionParser

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return {"motd": options.motd, "repeat": options.repeat}


if __name__ == "__main__":
    parser = OptionParser(usage="%prog [options]")
    parser.add_option("-m", "--motd", default="hi", help="message (default %default)")
    parser.add_option("--repeat", type="int", default=1)
    parser.add_option("--port", type="int", default=5000)
    (options, args) = parser.parse_args()
    app.run(port=options.port)
