"""Registry of the lab's network devices, with a heartbeat endpoint they call every minute."""
import argparse
import ipaddress
import json
import os
import threading
import time

from flask import Flask, abort, jsonify, request

app = Flask(__name__)
devices = {}
lock = threading.Lock()


def load(path):
    if os.path.exists(path):
        with open(path) as f:
            devices.update(json.load(f))


def persist(path):
    with lock:
        snapshot = json.dumps(devices, indent=2, sort_keys=True)
    with open(path + ".tmp", "w") as f:
        f.write(snapshot)
    os.replace(path + ".tmp", path)


def valid_ip(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@app.route("/devices")
def list_devices():
    now = time.time()
    with lock:
        return jsonify({
            name: {**info, "online": now - info.get("seen", 0) < app.config["OFFLINE_AFTER"]}
            for name, info in devices.items()
        })


@app.route("/devices/<name>", methods=["PUT"])
def register(name):
    data = request.get_json(force=True)
    ip = data.get("ip") or request.remote_addr
    if not valid_ip(ip):
        abort(400)
    with lock:
        devices[name] = {"ip": ip, "kind": data.get("kind", "unknown"), "seen": time.time(),
                         "firmware": data.get("firmware")}
    persist(app.config["STORE"])
    return jsonify(devices[name])


@app.route("/devices/<name>/heartbeat", methods=["POST"])
def heartbeat(name):
    with lock:
        if name not in devices:
            abort(404)
        devices[name]["seen"] = time.time()
    return "", 204


@app.route("/devices/<name>", methods=["DELETE"])
def unregister(name):
    with lock:
        devices.pop(name, None)
    persist(app.config["STORE"])
    return "", 204


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", default="devices.json")
    parser.add_argument("--offline-after", type=int, default=180, help="seconds without heartbeat")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", default=7070, type=int)
    args = parser.parse_args()
    HOST = args.host
    PORT = args.port
    app.config["STORE"] = args.store
    app.config["OFFLINE_AFTER"] = args.offline_after
    load(args.store)
    print(f"device registry listening on {HOST}:{PORT}")
    app.run(host=HOST, port=PORT)
