"""Browse a folder of photos as a thumbnail gallery.

    python image_gallery.py --root ~/Pictures --port 8080
"""
import io
import os
from functools import lru_cache

import click
from flask import Flask, abort, render_template_string, send_file
from PIL import Image

app = Flask(__name__)

EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".webp"}
PAGE = """<!doctype html>
<html><head><title>{{ title }}</title>
<style>
body { font-family: sans-serif; background: #222; color: #eee; }
.grid { display: flex; flex-wrap: wrap; gap: 8px; }
.grid a { display: block; width: {{ size }}px; text-align: center; color: #ccc; }
.grid img { max-width: {{ size }}px; max-height: {{ size }}px; }
</style></head>
<body>
<h1>{{ title }}</h1>
{% if parent is not none %}<p><a href="/browse/{{ parent }}">..</a></p>{% endif %}
<ul>{% for d in dirs %}<li><a href="/browse/{{ d }}">{{ d }}</a></li>{% endfor %}</ul>
<div class="grid">
{% for f in images %}
  <a href="/full/{{ f }}"><img src="/thumb/{{ f }}" loading="lazy"><br>{{ f.split('/')[-1] }}</a>
{% endfor %}
</div>
</body></html>
"""


def safe_path(relative):
    root = os.path.realpath(app.config["ROOT"])
    full = os.path.realpath(os.path.join(root, relative))
    if not full.startswith(root):
        abort(404)
    return full


def list_dir(relative):
    full = safe_path(relative)
    if not os.path.isdir(full):
        abort(404)
    dirs, images = [], []
    for name in sorted(os.listdir(full)):
        if name.startswith("."):
            continue
        rel = os.path.join(relative, name) if relative else name
        if os.path.isdir(os.path.join(full, name)):
            dirs.append(rel)
        elif os.path.splitext(name)[1].lower() in EXTENSIONS:
            images.append(rel)
    return dirs, images


@lru_cache(maxsize=512)
def thumbnail(path, size, mtime):
    with Image.open(path) as img:
        img.thumbnail((size, size))
        buf = io.BytesIO()
        img.convert("RGB").save(buf, "JPEG", quality=80)
    return buf.getvalue()


@app.route("/")
@app.route("/browse/")
@app.route("/browse/<path:relative>")
def browse(relative=""):
    dirs, images = list_dir(relative)
    parent = os.path.dirname(relative) if relative else None
    return render_template_string(
        PAGE, title=relative or "/", dirs=dirs, images=images, parent=parent,
        size=app.config["THUMB_SIZE"],
    )


@app.route("/thumb/<path:relative>")
def thumb(relative):
    path = safe_path(relative)
    data = thumbnail(path, app.config["THUMB_SIZE"], os.path.getmtime(path))
    return send_file(io.BytesIO(data), mimetype="image/jpeg", max_age=3600)


@app.route("/full/<path:relative>")
def full(relative):
    return send_file(safe_path(relative))


@click.command()
@click.option("--root", default=".", help="Folder with the photos.")
@click.option("--thumb-size", default=200, type=int, help="Thumbnail size in pixels.")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8080, type=int)
def main(root, thumb_size, host, port):
    app.config["ROOT"] = os.path.expanduser(root)
    app.config["THUMB_SIZE"] = thumb_size
    click.echo(f"Serving {app.config['ROOT']}")
    app.run(host=host, port=port)


if __name__ == "__main__":
    main()
