from flask import Flask

app = Flask(__name__)
admin = Flask("admin")

if __name__ == "__main__":
    app.run()
