import getopt
import sys

from flask import Flask

app = Flask(__name__)

if __name__ == "__main__":
    opts, rest = getopt.getopt(sys.argv[1:], "p:")
    port = int(dict(opts).get("-p", 5000))
    app.run(port=port)
