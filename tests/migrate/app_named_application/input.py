"""An app not called `app`, with host and port given positionally."""
import flask

application = flask.Flask(__name__)
VISITS = []


@application.route("/")
def index():
    VISITS.append(1)
    return "ok"


if __name__ == '__main__':
    application.run('0.0.0.0', 8080, True, use_reloader=False)
