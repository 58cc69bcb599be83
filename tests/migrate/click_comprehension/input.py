import click
from flask import Flask

app = Flask(__name__)
names = []


@click.command()
@click.option("--name", default="ann")
def main(name):
    names.extend(name.title() for name in name.split(","))
    app.run()


if __name__ == "__main__":
    main()
