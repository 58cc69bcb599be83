import time
import shutil
import platform

import click
import psutil
from flask import Flask, Response

app = Flask(__name__)
STARTED = time.time()


def gauge(name, value, help_text, labels=None):
    label = ""
    if labels:
        label = "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    return f"# HELP {name} {help_text}\n# TYPE {name} gauge\n{name}{label} {value}\n"


@app.route("/metrics")
def metrics():
    out = []
    out.append(gauge("node_uptime_seconds", round(time.time() - STARTED, 1), "Exporter uptime"))
    out.append(gauge("node_load1", psutil.getloadavg()[0], "1m load average"))
    mem = psutil.virtual_memory()
    out.append(gauge("node_memory_used_bytes", mem.used, "Used memory"))
    out.append(gauge("node_memory_total_bytes", mem.total, "Total memory"))
    for mount in app.config["MOUNTS"]:
        usage = shutil.disk_usage(mount)
        out.append(gauge("node_disk_free_bytes", usage.free, "Free disk", {"mount": mount}))
    out.append(gauge("node_info", 1, "Host info", {"host": platform.node()}))
    return Response("".join(out), mimetype="text/plain; version=0.0.4")


@app.route("/")
def root():
    return '<a href="/metrics">metrics</a>'


@click.command(help="Expose host metrics for Prometheus.")
@click.option("--port", default=9101, show_default=True)
@click.option("--mount", "mounts", multiple=True, help="Mount point to report; repeatable.")
def main(port, mounts):
    app.config["MOUNTS"] = list(mounts) or ["/"]
    app.run(host="0.0.0.0", port=port)


if __name__ == "__main__":
    main()
