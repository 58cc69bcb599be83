#!/usr/bin/env python
"""Caching reverse proxy for a slow JSON API.

usage: getopt_proxy.py -u UPSTREAM [-p PORT] [-t TTL] [-h]
"""
import getopt
import sys
import threading
import time

import requests
from flask import Flask, Response, request

app = Flask(__name__)

UPSTREAM = None
TTL = 60
CACHE = {}
LOCK = threading.Lock()
STATS = {"hits": 0, "misses": 0, "errors": 0}


def usage():
    print(__doc__)
    sys.exit(2)


def cache_key():
    return request.method + " " + request.full_path


def cached(key):
    with LOCK:
        entry = CACHE.get(key)
        if entry and entry[0] > time.time():
            STATS["hits"] += 1
            return entry[1]
    return None


def store(key, response):
    with LOCK:
        CACHE[key] = (time.time() + TTL, response)
        if len(CACHE) > 5000:
            oldest = sorted(CACHE.items(), key=lambda kv: kv[1][0])[:1000]
            for k, _ in oldest:
                del CACHE[k]


@app.route("/_stats")
def stats():
    with LOCK:
        return {"entries": len(CACHE), **STATS}


@app.route("/_purge", methods=["POST"])
def purge():
    with LOCK:
        CACHE.clear()
    return "", 204


@app.route("/", defaults={"path": ""})
@app.route("/<path:path>")
def proxy(path):
    key = cache_key()
    if request.method == "GET":
        hit = cached(key)
        if hit is not None:
            return Response(hit[0], status=hit[1], content_type=hit[2])
    STATS["misses"] += 1
    try:
        upstream = requests.request(
            request.method,
            UPSTREAM.rstrip("/") + "/" + path,
            params=request.args,
            data=request.get_data(),
            headers={"Accept": request.headers.get("Accept", "*/*")},
            timeout=30,
        )
    except requests.RequestException as e:
        STATS["errors"] += 1
        return {"error": str(e)}, 502
    result = (upstream.content, upstream.status_code, upstream.headers.get("Content-Type"))
    if request.method == "GET" and upstream.ok:
        store(key, result)
    return Response(result[0], status=result[1], content_type=result[2])


def main(argv):
    global UPSTREAM, TTL
    port = 8081
    try:
        opts, _ = getopt.getopt(argv, "hu:p:t:", ["help", "upstream=", "port=", "ttl="])
    except getopt.GetoptError as err:
        print(err)
        usage()
    for opt, value in opts:
        if opt in ("-h", "--help"):
            usage()
        elif opt in ("-u", "--upstream"):
            UPSTREAM = value
        elif opt in ("-p", "--port"):
            port = int(value)
        elif opt in ("-t", "--ttl"):
            TTL = int(value)
    if not UPSTREAM:
        usage()
    app.run(host="127.0.0.1", port=port, threaded=True)


if __name__ == "__main__":
    main(sys.argv[1:])
