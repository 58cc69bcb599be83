import click
from flask import Flask

app = Flask(__name__)


@click.command()
@click.option("--port", envvar="PORT", default=5000)
def main(port):
    app.run(port=port)


if __name__ == "__main__":
    main()
