"""An app not called `app`, with host and port given positionally."""
import flask
from flaskd import Service

application = flask.Flask(__name__)

service = Service(
    application, env_prefix="APP_NAMED_APPLICATION_", serve={"host": '0.0.0.0', "port": 8080}
)
create_app = service.create_app  # for servers that only call plain names

VISITS = []


@application.route("/")
def index():
    VISITS.append(1)
    return "ok"


if __name__ == '__main__':
    # debug: pass --dev for Flask's reloader and debugger (never on in production)
    service.main()
