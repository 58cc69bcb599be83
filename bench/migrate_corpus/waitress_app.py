import argparse
import logging

from flask import Flask, jsonify, request
from waitress import serve

app = Flask(__name__)
log = logging.getLogger("quotes")

QUOTES = [
    {"id": 1, "text": "Simple is better than complex.", "author": "Tim Peters"},
    {"id": 2, "text": "Premature optimization is the root of all evil.", "author": "Donald Knuth"},
    {"id": 3, "text": "Talk is cheap. Show me the code.", "author": "Linus Torvalds"},
]


@app.route("/quotes")
def list_quotes():
    author = request.args.get("author")
    items = [q for q in QUOTES if author is None or q["author"] == author]
    return jsonify(items)


@app.route("/quotes/<int:quote_id>")
def get_quote(quote_id):
    for quote in QUOTES:
        if quote["id"] == quote_id:
            return jsonify(quote)
    return jsonify(error="not found"), 404


@app.route("/quotes", methods=["POST"])
def add_quote():
    data = request.get_json(force=True)
    quote = {"id": max(q["id"] for q in QUOTES) + 1, "text": data["text"], "author": data.get("author", "?")}
    QUOTES.append(quote)
    return jsonify(quote), 201


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--dev", action="store_true", help="use the Flask dev server")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    if args.dev:
        app.run(port=args.port, debug=True)
    else:
        log.info("serving on port %d", args.port)
        serve(app, host="0.0.0.0", port=args.port, threads=8)
