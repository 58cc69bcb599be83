#!/usr/bin/env python3
"""MJPEG stream from a USB camera (OpenCV)."""
import argparse
import threading
import time

import cv2
from flask import Flask, Response

app = Flask(__name__)
frame_lock = threading.Lock()
latest = None


def capture_loop(device, fps):
    global latest
    cam = cv2.VideoCapture(device)
    delay = 1.0 / fps
    while True:
        ok, frame = cam.read()
        if not ok:
            time.sleep(0.5)
            continue
        ok, jpeg = cv2.imencode(".jpg", frame)
        if ok:
            with frame_lock:
                latest = jpeg.tobytes()
        time.sleep(delay)


def frames():
    while True:
        with frame_lock:
            data = latest
        if data is not None:
            yield b"--frame\r\nContent-Type: image/jpeg\r\n\r\n" + data + b"\r\n"
        time.sleep(0.05)


@app.route("/")
def index():
    return '<html><body><img src="/stream"></body></html>'


@app.route("/stream")
def stream():
    return Response(frames(), mimetype="multipart/x-mixed-replace; boundary=frame")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("-d", "--device", type=int, default=0)
    ap.add_argument("-f", "--fps", type=int, default=15)
    ap.add_argument("-i", "--ip", default="0.0.0.0")
    ap.add_argument("-o", "--port", default="8000")
    args = vars(ap.parse_args())
    t = threading.Thread(target=capture_loop, args=(args["device"], args["fps"]), daemon=True)
    t.start()
    app.run(host=args["ip"], port=int(args["port"]), debug=True, threaded=True, use_reloader=False)
