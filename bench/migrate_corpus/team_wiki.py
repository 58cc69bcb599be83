#!/usr/bin/env python
# -*- coding: utf-8 -*-
#
# team_wiki.py -- a markdown wiki in one file, pages stored as files in a git
# checkout so that history comes for free.
#
# Copyright (c) the ops team. Do whatever you want with it.
#
"""Team wiki: markdown pages on disk, full-text search, recent changes, attachments."""

import difflib
import hashlib
import html
import logging
import mimetypes
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import unicodedata
from datetime import datetime
from optparse import OptionGroup, OptionParser

from flask import (
    Flask,
    Response,
    abort,
    escape,
    redirect,
    render_template_string,
    request,
    send_from_directory,
    url_for,
)

try:
    import markdown
except ImportError:  # pragma: no cover - plain text fallback
    markdown = None

__version__ = "0.9.3"

app = Flask(__name__)
log = logging.getLogger("wiki")

PAGE_RE = re.compile(r"^[\w\-/ ]{1,120}$", re.UNICODE)
WIKILINK_RE = re.compile(r"\[\[([^\]|]+)(?:\|([^\]]+))?\]\]")
HEADING_RE = re.compile(r"^(#{1,6})\s+(.*)$", re.MULTILINE)
TAG_RE = re.compile(r"(?<![\w#])#([a-z][a-z0-9_-]{1,30})\b")
INDEX_LOCK = threading.RLock()
SEARCH_INDEX = {}
BACKLINKS = {}
TAGS = {}

# ---------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------


def slugify(title):
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s/-]", "", text).strip().lower()
    return re.sub(r"[\s_]+", "-", text)


def page_path(name):
    if not PAGE_RE.match(name) or ".." in name:
        abort(400)
    return os.path.join(app.config["PAGES"], slugify(name) + ".md")


def attachment_dir(name):
    return os.path.join(app.config["PAGES"], "_attachments", slugify(name))


def read_page(name):
    path = page_path(name)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return f.read()


def list_pages():
    root = app.config["PAGES"]
    pages = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
        for filename in filenames:
            if filename.endswith(".md"):
                rel = os.path.relpath(os.path.join(dirpath, filename), root)
                pages.append(rel[:-3])
    return sorted(pages)


def git(*args, check=True):
    if not app.config.get("GIT"):
        return ""
    result = subprocess.run(
        ["git", *args], cwd=app.config["PAGES"], capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        log.error("git %s failed: %s", " ".join(args), result.stderr.strip())
        return ""
    return result.stdout


def write_page(name, text, author, message=None):
    path = page_path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text.replace("\r\n", "\n"))
    os.replace(tmp, path)
    rel = os.path.relpath(path, app.config["PAGES"])
    git("add", rel)
    git(
        "-c", f"user.name={author}", "-c", f"user.email={author}@wiki",
        "commit", "-q", "-m", message or f"Edit {name}", "--", rel,
        check=False,
    )
    index_page(name, text)


def delete_page(name, author):
    path = page_path(name)
    if not os.path.exists(path):
        abort(404)
    rel = os.path.relpath(path, app.config["PAGES"])
    if app.config.get("GIT"):
        git("rm", "-q", rel)
        git("-c", f"user.name={author}", "commit", "-q", "-m", f"Delete {name}", check=False)
    else:
        os.remove(path)
    with INDEX_LOCK:
        SEARCH_INDEX.pop(name, None)
        for targets in BACKLINKS.values():
            targets.discard(name)
        for pages in TAGS.values():
            pages.discard(name)


def rename_page(old, new, author):
    old_path, new_path = page_path(old), page_path(new)
    if os.path.exists(new_path):
        raise ValueError(f"{new} exists already")
    os.makedirs(os.path.dirname(new_path), exist_ok=True)
    if app.config.get("GIT"):
        git("mv", os.path.relpath(old_path, app.config["PAGES"]), os.path.relpath(new_path, app.config["PAGES"]))
        git("-c", f"user.name={author}", "commit", "-q", "-m", f"Rename {old} to {new}", check=False)
    else:
        shutil.move(old_path, new_path)
    for other in list(backlinks(old)):
        text = read_page(other)
        if text is None:
            continue
        fixed = WIKILINK_RE.sub(
            lambda m: f"[[{new}{'|' + m.group(2) if m.group(2) else ''}]]" if slugify(m.group(1)) == slugify(old) else m.group(0),
            text,
        )
        if fixed != text:
            write_page(other, fixed, author, f"Fix links after renaming {old}")
    rebuild_index()


def history(name, limit=50):
    if not app.config.get("GIT"):
        return []
    rel = os.path.relpath(page_path(name), app.config["PAGES"])
    out = git("log", f"-n{limit}", "--format=%H%x1f%an%x1f%ad%x1f%s", "--date=iso", "--follow", "--", rel)
    entries = []
    for line in out.splitlines():
        sha, author, date, subject = line.split("\x1f")
        entries.append({"sha": sha, "author": author, "date": date, "subject": subject})
    return entries


def page_at(name, sha):
    if not re.fullmatch(r"[0-9a-f]{7,40}", sha):
        abort(400)
    rel = os.path.relpath(page_path(name), app.config["PAGES"])
    return git("show", f"{sha}:{rel}")


def recent_changes(limit=100):
    if not app.config.get("GIT"):
        pages = []
        for name in list_pages():
            path = page_path(name)
            pages.append({"page": name, "date": datetime.fromtimestamp(os.path.getmtime(path)).isoformat(" ", "seconds"),
                          "author": "", "subject": ""})
        return sorted(pages, key=lambda p: p["date"], reverse=True)[:limit]
    out = git("log", f"-n{limit}", "--name-only", "--format=%x1e%an%x1f%ad%x1f%s", "--date=iso")
    changes = []
    for block in out.split("\x1e")[1:]:
        head, _, files = block.partition("\n")
        author, date, subject = head.split("\x1f")
        for f in files.split():
            if f.endswith(".md"):
                changes.append({"page": f[:-3], "author": author, "date": date, "subject": subject})
    return changes


# ---------------------------------------------------------------------------
# Index: search, backlinks, tags
# ---------------------------------------------------------------------------


def words(text):
    return {w for w in re.findall(r"\w{3,}", text.lower())}


def links_in(text):
    return {slugify(m.group(1)) for m in WIKILINK_RE.finditer(text)}


def index_page(name, text):
    with INDEX_LOCK:
        SEARCH_INDEX[name] = (words(text), text)
        for target in links_in(text):
            BACKLINKS.setdefault(target, set()).add(name)
        for tag in TAG_RE.findall(text):
            TAGS.setdefault(tag, set()).add(name)


def rebuild_index():
    started = time.time()
    with INDEX_LOCK:
        SEARCH_INDEX.clear()
        BACKLINKS.clear()
        TAGS.clear()
        for name in list_pages():
            text = read_page(name)
            if text is not None:
                index_page(name, text)
    log.info("indexed %d pages in %.2fs", len(SEARCH_INDEX), time.time() - started)


def backlinks(name):
    with INDEX_LOCK:
        return sorted(BACKLINKS.get(slugify(name), set()))


def search(q, limit=50):
    terms = words(q)
    if not terms:
        return []
    results = []
    with INDEX_LOCK:
        for name, (page_words, text) in SEARCH_INDEX.items():
            if terms <= page_words:
                score = sum(text.lower().count(t) for t in terms)
                if any(t in name.lower() for t in terms):
                    score += 100
                results.append((score, name, snippet(text, terms)))
    results.sort(key=lambda r: (-r[0], r[1]))
    return results[:limit]


def snippet(text, terms, width=160):
    lower = text.lower()
    positions = [lower.find(t) for t in terms if lower.find(t) >= 0]
    start = max(0, min(positions) - width // 3) if positions else 0
    excerpt = html.escape(text[start : start + width])
    for t in terms:
        excerpt = re.sub(f"({re.escape(t)})", r"<mark>\1</mark>", excerpt, flags=re.IGNORECASE)
    return ("…" if start else "") + excerpt + "…"


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------

BASE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · {{ wiki_name }}</title>
<style>
  :root { --accent: {{ accent }}; }
  body { max-width: 60em; margin: 0 auto; padding: 0 1em 4em; font: 16px/1.55 Georgia, serif; color: #1d1d1d; }
  nav { display: flex; gap: 1em; align-items: baseline; border-bottom: 2px solid var(--accent); padding: .6em 0; }
  nav .brand { font-weight: bold; color: var(--accent); text-decoration: none; font-size: 120%; }
  nav form { margin-left: auto; }
  a { color: var(--accent); }
  a.missing { color: #c33; border-bottom: 1px dashed #c33; text-decoration: none; }
  pre, code { font: 14px Menlo, Consolas, monospace; background: #f6f6f6; }
  pre { padding: .8em; overflow-x: auto; }
  textarea { width: 100%; height: 30em; font: 14px Menlo, Consolas, monospace; }
  .meta { color: #777; font-size: 85%; }
  .toc { float: right; background: #fafafa; border: 1px solid #eee; padding: .5em 1em; margin: 0 0 1em 1em; font-size: 90%; }
  .diff .add { background: #e6ffed; } .diff .del { background: #ffeef0; }
  .tags a { background: #eef; padding: 0 .4em; border-radius: 3px; text-decoration: none; margin-right: .3em; }
  table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: .2em .5em; }
</style>
</head>
<body>
<nav>
  <a class="brand" href="{{ url_for('show', name=home) }}">{{ wiki_name }}</a>
  <a href="{{ url_for('all_pages') }}">All pages</a>
  <a href="{{ url_for('recent') }}">Recent changes</a>
  <a href="{{ url_for('tags') }}">Tags</a>
  <form action="{{ url_for('search_view') }}"><input name="q" value="{{ q or '' }}" placeholder="Search"></form>
</nav>
{{ body|safe }}
<p class="meta">team_wiki {{ version }}</p>
</body>
</html>"""

SHOW = """
{% if toc|length > 2 %}<div class="toc"><strong>Contents</strong><ul>
{% for level, text, anchor in toc %}<li style="margin-left: {{ (level - 1) * 1 }}em"><a href="#{{ anchor }}">{{ text }}</a></li>{% endfor %}
</ul></div>{% endif %}
<h1>{{ name }}</h1>
<p class="meta">
  <a href="{{ url_for('edit', name=name) }}">edit</a> ·
  <a href="{{ url_for('page_history', name=name) }}">history</a> ·
  <a href="{{ url_for('attachments', name=name) }}">attachments</a> ·
  <a href="{{ url_for('raw', name=name) }}">raw</a>
</p>
{% if tags %}<p class="tags">{% for t in tags %}<a href="{{ url_for('tag', tag=t) }}">#{{ t }}</a>{% endfor %}</p>{% endif %}
<div class="content">{{ content|safe }}</div>
{% if links %}<h3>Pages linking here</h3><ul>{% for l in links %}<li><a href="{{ url_for('show', name=l) }}">{{ l }}</a></li>{% endfor %}</ul>{% endif %}
"""

EDIT = """
<h1>Editing {{ name }}</h1>
<form method="post">
<textarea name="text" autofocus>{{ text }}</textarea>
<p><input name="message" placeholder="What did you change?" size="60">
<input type="hidden" name="base" value="{{ base }}">
<button>Save</button> <a href="{{ url_for('show', name=name) }}">cancel</a></p>
</form>
{% if conflict %}<h2>Someone else saved in the meantime</h2><pre class="diff">{{ conflict|safe }}</pre>{% endif %}
"""

LISTING = """
<h1>{{ heading }}</h1>
<ul>{% for item in items %}<li>{{ item|safe }}</li>{% endfor %}</ul>
"""


def render_markdown(text):
    def link(m):
        target, label = m.group(1).strip(), (m.group(2) or m.group(1)).strip()
        css = "" if os.path.exists(page_path(target)) else ' class="missing"'
        return f'<a href="{url_for("show", name=slugify(target))}"{css}>{escape(label)}</a>'

    text = WIKILINK_RE.sub(link, text)
    text = TAG_RE.sub(lambda m: f'<a href="{url_for("tag", tag=m.group(1))}">#{m.group(1)}</a>', text)
    if markdown is None:
        return "<pre>" + text + "</pre>"
    return markdown.markdown(text, extensions=["fenced_code", "tables", "toc", "sane_lists"])


def table_of_contents(text):
    toc = []
    for m in HEADING_RE.finditer(text):
        title = m.group(2).strip()
        toc.append((len(m.group(1)), title, slugify(title)))
    return toc


def layout(title, template, **context):
    body = render_template_string(template, **context)
    return render_template_string(
        BASE,
        title=title,
        body=body,
        q=request.args.get("q"),
        wiki_name=app.config["WIKI_NAME"],
        home=app.config["HOME"],
        accent=app.config.get("ACCENT", "#2a6"),
        version=__version__,
    )


def author():
    return request.headers.get("X-Remote-User") or request.remote_addr or "anonymous"


def etag(text):
    return hashlib.sha1(text.encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------


@app.route("/")
def index():
    return redirect(url_for("show", name=app.config["HOME"]))


@app.route("/wiki/<path:name>")
def show(name):
    text = read_page(name)
    if text is None:
        if app.config["READ_ONLY"]:
            abort(404)
        return redirect(url_for("edit", name=name))
    tags_ = sorted(set(TAG_RE.findall(text)))
    return layout(
        name, SHOW, name=name, content=render_markdown(text), toc=table_of_contents(text),
        links=backlinks(name), tags=tags_,
    )


@app.route("/wiki/<path:name>/raw")
def raw(name):
    text = read_page(name)
    if text is None:
        abort(404)
    return Response(text, mimetype="text/markdown; charset=utf-8")


@app.route("/wiki/<path:name>/edit", methods=["GET", "POST"])
def edit(name):
    if app.config["READ_ONLY"]:
        abort(403)
    current = read_page(name) or ""
    if request.method == "POST":
        text = request.form.get("text", "")
        base = request.form.get("base", "")
        if current and base and base != etag(current):
            diff = "\n".join(
                html.escape(line)
                for line in difflib.unified_diff(current.splitlines(), text.splitlines(), "saved", "yours", lineterm="")
            )
            return layout(f"Conflict: {name}", EDIT, name=name, text=text, base=etag(current), conflict=diff)
        if len(text) > app.config["MAX_PAGE_BYTES"]:
            abort(413)
        write_page(name, text, author(), request.form.get("message") or None)
        return redirect(url_for("show", name=name))
    if not current:
        current = f"# {name}\n\n"
    return layout(f"Edit {name}", EDIT, name=name, text=current, base=etag(current), conflict=None)


@app.route("/wiki/<path:name>/delete", methods=["POST"])
def delete(name):
    if app.config["READ_ONLY"]:
        abort(403)
    delete_page(name, author())
    return redirect(url_for("recent"))


@app.route("/wiki/<path:name>/rename", methods=["POST"])
def rename(name):
    if app.config["READ_ONLY"]:
        abort(403)
    new = request.form.get("new", "").strip()
    if not new:
        abort(400)
    try:
        rename_page(name, new, author())
    except ValueError as e:
        return layout("Rename failed", LISTING, heading=str(e), items=[])
    return redirect(url_for("show", name=new))


@app.route("/wiki/<path:name>/history")
def page_history(name):
    items = [
        f'<a href="{url_for("show_revision", name=name, sha=h["sha"])}">{h["date"]}</a> '
        f'{escape(h["author"])}: {escape(h["subject"])} '
        f'(<a href="{url_for("revision_diff", name=name, sha=h["sha"])}">diff</a>)'
        for h in history(name)
    ]
    if not items:
        items = ["No history (git is off or the page is new)."]
    return layout(f"History of {name}", LISTING, heading=f"History of {name}", items=items)


@app.route("/wiki/<path:name>/at/<sha>")
def show_revision(name, sha):
    text = page_at(name, sha)
    if not text:
        abort(404)
    return layout(f"{name} at {sha[:7]}", SHOW, name=f"{name} ({sha[:7]})", content=render_markdown(text),
                  toc=[], links=[], tags=[])


@app.route("/wiki/<path:name>/diff/<sha>")
def revision_diff(name, sha):
    before = page_at(name, sha + "~1") if len(history(name)) > 1 else ""
    after = page_at(name, sha)
    rows = []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm=""):
        css = "add" if line.startswith("+") else "del" if line.startswith("-") else ""
        rows.append(f'<span class="{css}">{html.escape(line)}</span>')
    body = '<pre class="diff">' + "\n".join(rows) + "</pre>"
    return render_template_string(BASE, title=f"Diff {name}", body=body, q=None,
                                  wiki_name=app.config["WIKI_NAME"], home=app.config["HOME"],
                                  accent="#2a6", version=__version__)


@app.route("/pages")
def all_pages():
    items = [f'<a href="{url_for("show", name=p)}">{escape(p)}</a>' for p in list_pages()]
    return layout("All pages", LISTING, heading=f"All pages ({len(items)})", items=items)


@app.route("/recent")
def recent():
    items = [
        f'{c["date"]} <a href="{url_for("show", name=c["page"])}">{escape(c["page"])}</a> '
        f'<span class="meta">{escape(c["author"])}: {escape(c["subject"])}</span>'
        for c in recent_changes()
    ]
    return layout("Recent changes", LISTING, heading="Recent changes", items=items)


@app.route("/recent.atom")
def recent_feed():
    entries = []
    for c in recent_changes(30):
        link = url_for("show", name=c["page"], _external=True)
        entries.append(
            "<entry>"
            f"<title>{html.escape(c['page'])}: {html.escape(c['subject'])}</title>"
            f'<link href="{link}"/><id>{link}#{etag(c["date"])}</id>'
            f"<updated>{c['date'].replace(' ', 'T', 1)}</updated>"
            f"<author><name>{html.escape(c['author'])}</name></author>"
            "</entry>"
        )
    feed = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{html.escape(app.config['WIKI_NAME'])}</title>"
        f'<link href="{url_for("recent", _external=True)}"/>'
        f"<id>{url_for('recent', _external=True)}</id>"
        f"<updated>{datetime.utcnow().isoformat()}Z</updated>"
        + "".join(entries)
        + "</feed>"
    )
    return Response(feed, mimetype="application/atom+xml")


@app.route("/search")
def search_view():
    q = request.args.get("q", "")
    results = search(q)
    if len(results) == 1 and request.args.get("go"):
        return redirect(url_for("show", name=results[0][1]))
    items = [f'<a href="{url_for("show", name=name)}">{escape(name)}</a><br><small>{snip}</small>'
             for _, name, snip in results]
    return layout(f"Search: {q}", LISTING, heading=f"{len(items)} results for “{q}”", items=items)


@app.route("/tags")
def tags():
    with INDEX_LOCK:
        counts = sorted(((t, len(p)) for t, p in TAGS.items()), key=lambda tc: (-tc[1], tc[0]))
    items = [f'<a href="{url_for("tag", tag=t)}">#{t}</a> ({n})' for t, n in counts]
    return layout("Tags", LISTING, heading="Tags", items=items)


@app.route("/tags/<tag>")
def tag(tag):
    with INDEX_LOCK:
        pages = sorted(TAGS.get(tag, ()))
    items = [f'<a href="{url_for("show", name=p)}">{escape(p)}</a>' for p in pages]
    return layout(f"#{tag}", LISTING, heading=f"Pages tagged #{tag}", items=items)


@app.route("/wiki/<path:name>/attachments", methods=["GET", "POST"])
def attachments(name):
    folder = attachment_dir(name)
    if request.method == "POST":
        if app.config["READ_ONLY"]:
            abort(403)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            abort(400)
        filename = os.path.basename(upload.filename).replace(" ", "_")
        os.makedirs(folder, exist_ok=True)
        upload.save(os.path.join(folder, filename))
        git("add", os.path.relpath(os.path.join(folder, filename), app.config["PAGES"]))
        git("-c", f"user.name={author()}", "commit", "-q", "-m", f"Attach {filename} to {name}", check=False)
        return redirect(url_for("attachments", name=name))
    files = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    items = [
        f'<a href="{url_for("attachment", name=name, filename=f)}">{escape(f)}</a> '
        f'<code>[[{name}/{f}]]</code>'
        for f in files
    ]
    upload_form = (
        f'<form method="post" enctype="multipart/form-data"><input type="file" name="file"> '
        f"<button>Upload</button></form>"
    )
    body = render_template_string(LISTING, heading=f"Attachments of {name}", items=items) + upload_form
    return render_template_string(BASE, title="Attachments", body=body, q=None, wiki_name=app.config["WIKI_NAME"],
                                  home=app.config["HOME"], accent="#2a6", version=__version__)


@app.route("/wiki/<path:name>/files/<filename>")
def attachment(name, filename):
    mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return send_from_directory(attachment_dir(name), filename, mimetype=mimetype)


@app.route("/api/pages")
def api_pages():
    return {"pages": list_pages()}


@app.route("/api/pages/<path:name>", methods=["GET", "PUT"])
def api_page(name):
    if request.method == "PUT":
        if app.config["READ_ONLY"]:
            abort(403)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not app.config["API_TOKEN"] or token != app.config["API_TOKEN"]:
            abort(401)
        write_page(name, request.get_data(as_text=True), "api", request.args.get("message"))
        return {"ok": True, "etag": etag(read_page(name))}
    text = read_page(name)
    if text is None:
        abort(404)
    return {"name": name, "text": text, "etag": etag(text), "backlinks": backlinks(name)}


@app.errorhandler(404)
def page_not_found(e):
    return layout("Not found", LISTING, heading="Not found", items=[]), 404


@app.errorhandler(413)
def too_large(e):
    return layout("Too large", LISTING, heading="That page is too large", items=[]), 413


@app.after_request
def security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
    return response


# ---------------------------------------------------------------------------
# Start-up
# ---------------------------------------------------------------------------


def prepare_storage(path, use_git):
    os.makedirs(path, exist_ok=True)
    if use_git and not os.path.isdir(os.path.join(path, ".git")):
        subprocess.run(["git", "init", "-q", path], check=True)
        log.info("initialised a git repository in %s", path)
    home = os.path.join(path, slugify(app.config["HOME"]) + ".md")
    if not os.path.exists(home):
        with open(home, "w", encoding="utf-8") as f:
            f.write(f"# {app.config['HOME']}\n\nWelcome to the wiki. Link pages with [[Page name]].\n")


def watch_for_external_edits(interval):
    """Re-index when someone edits the files directly (git pull on the server)."""
    def loop():
        last = None
        while True:
            time.sleep(interval)
            try:
                stamp = max((os.path.getmtime(page_path(p)) for p in list_pages()), default=0)
            except OSError:
                continue
            if last is not None and stamp != last:
                rebuild_index()
            last = stamp

    threading.Thread(target=loop, name="reindex", daemon=True).start()


if __name__ == "__main__":
    parser = OptionParser(usage="usage: %prog [options]", version="%prog " + __version__)
    parser.add_option("-d", "--pages", dest="pages", default="./pages", help="page directory [default: %default]")
    parser.add_option("-p", "--port", dest="port", type="int", default=5005, help="port [default: %default]")
    parser.add_option("-H", "--host", dest="host", default="127.0.0.1", help="interface [default: %default]")
    group = OptionGroup(parser, "Wiki options")
    group.add_option("--name", dest="wiki_name", default="Team wiki")
    group.add_option("--home", dest="home", default="Home")
    group.add_option("--no-git", dest="git", action="store_false", default=True, help="do not commit edits")
    group.add_option("--read-only", dest="read_only", action="store_true", default=False)
    group.add_option("--api-token", dest="api_token", default="")
    group.add_option("--max-page-kb", dest="max_page_kb", type="int", default=512)
    group.add_option("--reindex-every", dest="reindex_every", type="int", default=0,
                     help="seconds between checks for edits made outside the wiki (0: never)")
    parser.add_option_group(group)
    (options, args) = parser.parse_args()

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    app.config.update(
        PAGES=os.path.abspath(options.pages),
        WIKI_NAME=options.wiki_name,
        HOME=options.home,
        GIT=options.git and shutil.which("git") is not None,
        READ_ONLY=options.read_only,
        API_TOKEN=options.api_token,
        MAX_PAGE_BYTES=options.max_page_kb * 1024,
    )
    prepare_storage(app.config["PAGES"], app.config["GIT"])
    rebuild_index()
    if options.reindex_every:
        watch_for_external_edits(options.reindex_every)
    app.run(host=options.host, port=options.port, threaded=True)
