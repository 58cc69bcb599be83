import sys

from flask import Flask
from waitress import serve

app = Flask(__name__)

if __name__ == "__main__":
    if "--prod" in sys.argv:
        serve(app, port=8080)
    else:
        app.run(debug=True)
