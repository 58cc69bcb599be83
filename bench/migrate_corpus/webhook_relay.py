#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""
Relay GitHub webhooks to a chat channel.

Usage: webhook_relay.py [-p PORT] [-s SECRET] [-u CHAT_URL]
"""
import hashlib
import hmac
import json
import logging
from optparse import OptionParser

import requests
from flask import Flask, abort, request

app = Flask(__name__)
log = logging.getLogger("relay")

EVENTS = {
    "push": "{pusher[name]} pushed {n} commit(s) to {repository[full_name]}",
    "issues": "{sender[login]} {action} issue #{issue[number]}: {issue[title]}",
    "pull_request": "{sender[login]} {action} PR #{number}: {pull_request[title]}",
    "release": "{sender[login]} published {release[tag_name]}",
}


def verify(secret, body, signature):
    if not secret:
        return True
    if not signature or not signature.startswith("sha256="):
        return False
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + digest, signature)


def format_event(event, payload):
    template = EVENTS.get(event)
    if template is None:
        return None
    payload = dict(payload)
    payload["n"] = len(payload.get("commits", []))
    try:
        return template.format(**payload)
    except (KeyError, IndexError):
        log.warning("cannot format %s event", event)
        return None


@app.route("/hook", methods=["POST"])
def hook():
    body = request.get_data()
    if not verify(app.config["SECRET"], body, request.headers.get("X-Hub-Signature-256")):
        abort(403)
    event = request.headers.get("X-GitHub-Event", "")
    text = format_event(event, json.loads(body or b"{}"))
    if text and app.config["CHAT_URL"]:
        requests.post(app.config["CHAT_URL"], json={"text": text}, timeout=5)
    return "", 204


@app.route("/health")
def health():
    return "ok"


if __name__ == "__main__":
    parser = OptionParser(usage="%prog [options]")
    parser.add_option("-p", "--port", type="int", default=9000, help="port [default: %default]")
    parser.add_option("-s", "--secret", default="", help="webhook secret")
    parser.add_option("-u", "--chat-url", dest="chat_url", default="", help="incoming webhook URL")
    parser.add_option("-v", "--verbose", action="store_true", default=False)
    (options, args) = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if options.verbose else logging.INFO)
    app.config["SECRET"] = options.secret
    app.config["CHAT_URL"] = options.chat_url
    app.run(host="0.0.0.0", port=options.port)
