from flask import Flask

app = Flask(__name__)

if __name__ == "__main__":
    for port in (5000, 5001):
        app.run(port=port)
