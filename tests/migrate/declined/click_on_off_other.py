import click
from flask import Flask

app = Flask(__name__)


@click.command()
@click.option("--verbose/--quiet", default=False)
def main(verbose):
    app.config["VERBOSE"] = verbose
    app.run()


if __name__ == "__main__":
    main()
