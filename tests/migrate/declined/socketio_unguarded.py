"""A chat app served by Flask-SocketIO, started at import."""

from flask import Flask, render_template
from flask_socketio import SocketIO

app = Flask(__name__)
app.config["SECRET_KEY"] = "secret!"
socketio = SocketIO(app)


@app.route("/")
def index():
    return render_template("index.html")


@socketio.on("message")
def message(data):
    socketio.send(data)


socketio.run(app, host="0.0.0.0", port=5000)
