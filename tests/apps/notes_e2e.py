"""The example notes app plus what tests/test_systemd_e2e.py needs: a slow start, a slow request.

The test installs it beside examples/notes/notes.py, which it imports.
"""

import os
import time

from flask import request
from notes import app, service


@service.on_startup
def slow_start(app):
    """Take E2E_START_DELAY seconds, so that systemd sees the service activating first."""
    time.sleep(float(os.environ.get("E2E_START_DELAY", "0")))


@app.get("/slow")
def slow():
    print(f"slow request {request.args.get('mark', '')} started", flush=True)  # to the journal
    time.sleep(3)
    return "slow done\n"
