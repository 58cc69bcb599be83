"""An app that reads uploads with the cycle collector off, to show what a refused one leaves."""

import gc
import types

from flask import Flask, request

from flaskd import Service

gc.disable()  # what a refused upload leaves in reference cycles stays where /held sees it
app = Flask(__name__)
service = Service(app, env_prefix="UPLOAD_")


@app.post("/echo")
def echo():
    return str(len(request.get_data()))


@app.get("/held")
def held():
    """Bytes of request bodies still held by the frames of requests that have ended."""
    frames = [o for o in gc.get_objects() if isinstance(o, types.FrameType)]
    buffers = [v for f in frames for v in f.f_locals.values() if isinstance(v, bytearray)]
    return str(sum(map(len, buffers)))
