#!/usr/bin/env python3
"""
Inventory manager
=================

Single-file stock management for the workshop store: items, suppliers,
locations, stock movements, purchase orders, a few reports and a JSON API
for the barcode scanners.

Run it with:

    python inventory_manager.py --db inventory.sqlite --port 8000

Everything lives in this file on purpose: the store's PC has no git and
copying one file over is how updates are deployed.
"""
import argparse
import csv
import datetime as dt
import functools
import hashlib
import io
import json
import logging
import os
import re
import secrets
import sqlite3
from collections import defaultdict, namedtuple
from decimal import Decimal, InvalidOperation

from flask import (
    Flask,
    Response,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template_string,
    request,
    session,
    url_for,
)

app = Flask(__name__)
app.config.from_object("inventory_settings")
app.config.setdefault("ITEMS_PER_PAGE", 50)
app.secret_key = os.environ.get("INVENTORY_SECRET", "change-me")

log = logging.getLogger("inventory")

# ---------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    username TEXT UNIQUE NOT NULL,
    pw_hash TEXT NOT NULL,
    salt TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'clerk',
    active INTEGER NOT NULL DEFAULT 1,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS suppliers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    contact TEXT,
    email TEXT,
    phone TEXT,
    lead_days INTEGER DEFAULT 7,
    notes TEXT
);
CREATE TABLE IF NOT EXISTS locations (
    id INTEGER PRIMARY KEY,
    code TEXT UNIQUE NOT NULL,
    description TEXT
);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    sku TEXT UNIQUE NOT NULL,
    barcode TEXT,
    name TEXT NOT NULL,
    category TEXT,
    unit TEXT NOT NULL DEFAULT 'pcs',
    cost TEXT NOT NULL DEFAULT '0',
    price TEXT NOT NULL DEFAULT '0',
    reorder_level INTEGER NOT NULL DEFAULT 0,
    reorder_qty INTEGER NOT NULL DEFAULT 0,
    supplier_id INTEGER REFERENCES suppliers(id),
    archived INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS stock (
    item_id INTEGER REFERENCES items(id),
    location_id INTEGER REFERENCES locations(id),
    qty INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (item_id, location_id)
);
CREATE TABLE IF NOT EXISTS movements (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    location_id INTEGER NOT NULL REFERENCES locations(id),
    delta INTEGER NOT NULL,
    reason TEXT NOT NULL,
    reference TEXT,
    user_id INTEGER REFERENCES users(id),
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    supplier_id INTEGER NOT NULL REFERENCES suppliers(id),
    status TEXT NOT NULL DEFAULT 'draft',
    created TEXT NOT NULL,
    sent TEXT,
    received TEXT,
    notes TEXT
);
CREATE TABLE IF NOT EXISTS order_lines (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    item_id INTEGER NOT NULL REFERENCES items(id),
    qty INTEGER NOT NULL,
    cost TEXT NOT NULL,
    received_qty INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS movements_item ON movements(item_id, at);
CREATE INDEX IF NOT EXISTS items_barcode ON items(barcode);
"""

ORDER_STATUSES = ("draft", "sent", "partial", "received", "cancelled")
MOVEMENT_REASONS = ("receipt", "sale", "adjustment", "transfer", "return", "damage", "count")
SKU_RE = re.compile(r"^[A-Z0-9][A-Z0-9\-]{2,31}$")

Total = namedtuple("Total", "qty value")


def get_db():
    db = getattr(g, "_database", None)
    if db is None:
        db = g._database = sqlite3.connect(app.config["DATABASE"], timeout=10)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys = ON")
    return db


@app.teardown_appcontext
def close_connection(exception):
    db = getattr(g, "_database", None)
    if db is not None:
        db.close()


def query(sql, args=(), one=False):
    cur = get_db().execute(sql, args)
    rows = cur.fetchall()
    cur.close()
    return (rows[0] if rows else None) if one else rows


def execute(sql, args=()):
    db = get_db()
    cur = db.execute(sql, args)
    db.commit()
    return cur.lastrowid


def now():
    return dt.datetime.now().isoformat(timespec="seconds")


def money(value):
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return Decimal("0.00")


def init_db(path):
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        if db.execute("SELECT COUNT(*) FROM locations").fetchone()[0] == 0:
            db.execute("INSERT INTO locations (code, description) VALUES ('MAIN', 'Shop floor')")
            db.execute("INSERT INTO locations (code, description) VALUES ('BACK', 'Back room')")


def backup_db(path, keep=7):
    folder = os.path.join(os.path.dirname(os.path.abspath(path)), "backups")
    os.makedirs(folder, exist_ok=True)
    stamp = dt.date.today().isoformat()
    target = os.path.join(folder, f"inventory-{stamp}.sqlite")
    if not os.path.exists(target):
        with sqlite3.connect(path) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        log.info("backup written to %s", target)
    backups = sorted(f for f in os.listdir(folder) if f.startswith("inventory-"))
    for old in backups[:-keep]:
        os.remove(os.path.join(folder, old))


# ---------------------------------------------------------------------------
# Users and authentication
# ---------------------------------------------------------------------------


def hash_password(password, salt=None):
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 120000)
    return digest.hex(), salt


def check_password(user, password):
    digest, _ = hash_password(password, user["salt"])
    return secrets.compare_digest(digest, user["pw_hash"])


def create_user(username, password, role="clerk"):
    pw_hash, salt = hash_password(password)
    return execute(
        "INSERT INTO users (username, pw_hash, salt, role, created) VALUES (?, ?, ?, ?, ?)",
        (username, pw_hash, salt, role, now()),
    )


def current_user():
    if "user" not in g:
        uid = session.get("uid")
        g.user = query("SELECT * FROM users WHERE id = ? AND active = 1", (uid,), one=True) if uid else None
    return g.user


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


def role_required(*roles):
    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user()["role"] not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def api_key_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        key = request.headers.get("X-Api-Key") or request.args.get("key")
        if not key or key not in app.config.get("API_KEYS", ()):
            return jsonify(error="invalid API key"), 401
        return view(*args, **kwargs)

    return wrapped


@app.context_processor
def inject_user():
    return {"user": current_user(), "shop": app.config.get("SHOP_NAME", "Inventory")}


# ---------------------------------------------------------------------------
# Templates (kept inline: one file to copy)
# ---------------------------------------------------------------------------

LAYOUT = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }} - {{ shop }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; color: #222; }
header { background: #2d3e50; color: #fff; padding: .6em 1em; display: flex; gap: 1em; align-items: center; }
header a { color: #dfe6ee; text-decoration: none; }
header a:hover { color: #fff; }
main { padding: 1em 2em; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .3em .5em; text-align: left; }
th { background: #f4f6f8; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.low { color: #b00; font-weight: bold; }
.flash { background: #fff6d6; border: 1px solid #e0c96b; padding: .4em .8em; margin-bottom: 1em; }
form.inline { display: inline; }
.muted { color: #888; }
.pager a { margin: 0 .3em; }
</style>
</head>
<body>
<header>
  <strong>{{ shop }}</strong>
  {% if user %}
  <a href="{{ url_for('items') }}">Items</a>
  <a href="{{ url_for('suppliers') }}">Suppliers</a>
  <a href="{{ url_for('locations') }}">Locations</a>
  <a href="{{ url_for('movements') }}">Movements</a>
  <a href="{{ url_for('orders') }}">Orders</a>
  <a href="{{ url_for('reports') }}">Reports</a>
  {% if user.role == 'admin' %}<a href="{{ url_for('admin_users') }}">Users</a>{% endif %}
  <span style="margin-left:auto">{{ user.username }} · <a href="{{ url_for('logout') }}">log out</a></span>
  {% endif %}
</header>
<main>
{% for message in get_flashed_messages() %}<div class="flash">{{ message }}</div>{% endfor %}
{{ body|safe }}
</main>
</body>
</html>
"""

LOGIN = """
<h1>Log in</h1>
<form method="post">
  <p><label>User <input name="username" autofocus></label></p>
  <p><label>Password <input name="password" type="password"></label></p>
  <input type="hidden" name="next" value="{{ next }}">
  <button>Log in</button>
</form>
"""

ITEMS = """
<h1>Items</h1>
<form>
  <input name="q" value="{{ q }}" placeholder="search SKU, name, barcode">
  <select name="category"><option value="">all categories</option>
  {% for c in categories %}<option {% if c == category %}selected{% endif %}>{{ c }}</option>{% endfor %}
  </select>
  <label><input type="checkbox" name="low" value="1" {% if low %}checked{% endif %}> low stock only</label>
  <button>Filter</button>
  <a href="{{ url_for('item_new') }}">New item</a> · <a href="{{ url_for('items_export') }}">CSV</a>
</form>
<table>
<tr><th>SKU</th><th>Name</th><th>Category</th><th class="num">On hand</th><th class="num">Reorder at</th><th class="num">Price</th><th>Supplier</th></tr>
{% for it in rows %}
<tr>
  <td><a href="{{ url_for('item_detail', item_id=it.id) }}">{{ it.sku }}</a></td>
  <td>{{ it.name }}</td><td>{{ it.category or '' }}</td>
  <td class="num {% if it.on_hand <= it.reorder_level %}low{% endif %}">{{ it.on_hand }} {{ it.unit }}</td>
  <td class="num">{{ it.reorder_level }}</td><td class="num">{{ it.price }}</td>
  <td>{{ it.supplier or '' }}</td>
</tr>
{% else %}
<tr><td colspan="7" class="muted">No items.</td></tr>
{% endfor %}
</table>
<p class="pager">
{% if page > 1 %}<a href="{{ url_for('items', page=page-1, q=q, category=category, low=low) }}">&laquo; prev</a>{% endif %}
page {{ page }} of {{ pages }}
{% if page < pages %}<a href="{{ url_for('items', page=page+1, q=q, category=category, low=low) }}">next &raquo;</a>{% endif %}
</p>
"""

ITEM_FORM = """
<h1>{{ 'Edit' if item else 'New' }} item</h1>
<form method="post">
<table>
<tr><th>SKU</th><td><input name="sku" value="{{ item.sku if item else '' }}" required></td></tr>
<tr><th>Barcode</th><td><input name="barcode" value="{{ item.barcode or '' if item else '' }}"></td></tr>
<tr><th>Name</th><td><input name="name" value="{{ item.name if item else '' }}" size="50" required></td></tr>
<tr><th>Category</th><td><input name="category" value="{{ item.category or '' if item else '' }}" list="cats"></td></tr>
<tr><th>Unit</th><td><input name="unit" value="{{ item.unit if item else 'pcs' }}"></td></tr>
<tr><th>Cost</th><td><input name="cost" value="{{ item.cost if item else '0' }}"></td></tr>
<tr><th>Price</th><td><input name="price" value="{{ item.price if item else '0' }}"></td></tr>
<tr><th>Reorder level</th><td><input name="reorder_level" type="number" value="{{ item.reorder_level if item else 0 }}"></td></tr>
<tr><th>Reorder qty</th><td><input name="reorder_qty" type="number" value="{{ item.reorder_qty if item else 0 }}"></td></tr>
<tr><th>Supplier</th><td><select name="supplier_id"><option value="">none</option>
{% for s in suppliers %}<option value="{{ s.id }}" {% if item and item.supplier_id == s.id %}selected{% endif %}>{{ s.name }}</option>{% endfor %}
</select></td></tr>
</table>
<datalist id="cats">{% for c in categories %}<option>{{ c }}</option>{% endfor %}</datalist>
<button>Save</button>
</form>
"""

ITEM_DETAIL = """
<h1>{{ item.sku }} · {{ item.name }}</h1>
<p>{{ item.category or 'no category' }} · cost {{ item.cost }} · price {{ item.price }} ·
supplier {{ supplier.name if supplier else 'none' }} · <a href="{{ url_for('item_edit', item_id=item.id) }}">edit</a></p>
<h2>Stock</h2>
<table><tr><th>Location</th><th class="num">Qty</th></tr>
{% for s in stock %}<tr><td>{{ s.code }}</td><td class="num">{{ s.qty }}</td></tr>{% endfor %}
</table>
<h2>Adjust</h2>
<form method="post" action="{{ url_for('item_move', item_id=item.id) }}">
<select name="location_id">{% for l in locations %}<option value="{{ l.id }}">{{ l.code }}</option>{% endfor %}</select>
<input name="delta" type="number" required placeholder="+/- qty">
<select name="reason">{% for r in reasons %}<option>{{ r }}</option>{% endfor %}</select>
<input name="reference" placeholder="reference">
<button>Record</button>
</form>
<h2>Last movements</h2>
<table><tr><th>When</th><th>Location</th><th class="num">Delta</th><th>Reason</th><th>Ref</th><th>By</th></tr>
{% for m in moves %}<tr><td>{{ m.at }}</td><td>{{ m.code }}</td><td class="num">{{ m.delta }}</td><td>{{ m.reason }}</td><td>{{ m.reference or '' }}</td><td>{{ m.username or '' }}</td></tr>{% endfor %}
</table>
"""

SIMPLE_TABLE = """
<h1>{{ heading }}</h1>
{% if new_url %}<p><a href="{{ new_url }}">New</a></p>{% endif %}
<table>
<tr>{% for h in headers %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell|safe }}</td>{% endfor %}</tr>{% endfor %}
</table>
"""

FORM = """
<h1>{{ heading }}</h1>
<form method="post">
<table>
{% for name, label, value in fields %}
<tr><th>{{ label }}</th><td><input name="{{ name }}" value="{{ value or '' }}" size="40"></td></tr>
{% endfor %}
</table>
<button>Save</button>
</form>
"""

ORDER_DETAIL = """
<h1>Order #{{ order.id }} · {{ supplier.name }} · {{ order.status }}</h1>
<p>Created {{ order.created }}{% if order.sent %} · sent {{ order.sent }}{% endif %}{% if order.received %} · received {{ order.received }}{% endif %}</p>
<table>
<tr><th>SKU</th><th>Item</th><th class="num">Qty</th><th class="num">Received</th><th class="num">Cost</th><th class="num">Line</th></tr>
{% for l in lines %}
<tr><td>{{ l.sku }}</td><td>{{ l.name }}</td><td class="num">{{ l.qty }}</td><td class="num">{{ l.received_qty }}</td>
<td class="num">{{ l.cost }}</td><td class="num">{{ l.line_total }}</td></tr>
{% endfor %}
<tr><th colspan="5">Total</th><th class="num">{{ total }}</th></tr>
</table>
{% if order.status == 'draft' %}
<h2>Add line</h2>
<form method="post" action="{{ url_for('order_add_line', order_id=order.id) }}">
<input name="sku" placeholder="SKU" required> <input name="qty" type="number" value="1"> <button>Add</button>
</form>
<form method="post" action="{{ url_for('order_send', order_id=order.id) }}"><button>Mark as sent</button></form>
{% elif order.status in ('sent', 'partial') %}
<h2>Receive</h2>
<form method="post" action="{{ url_for('order_receive', order_id=order.id) }}">
<select name="location_id">{% for l in locations %}<option value="{{ l.id }}">{{ l.code }}</option>{% endfor %}</select>
{% for l in lines %}<p>{{ l.sku }} <input name="recv_{{ l.id }}" type="number" value="{{ l.qty - l.received_qty }}"></p>{% endfor %}
<button>Receive</button>
</form>
{% endif %}
"""


def page(title, template, **context):
    body = render_template_string(template, **context)
    return render_template_string(LAYOUT, title=title, body=body)


# ---------------------------------------------------------------------------
# Stock logic
# ---------------------------------------------------------------------------


def on_hand(item_id, location_id=None):
    if location_id is None:
        row = query("SELECT COALESCE(SUM(qty), 0) AS q FROM stock WHERE item_id = ?", (item_id,), one=True)
    else:
        row = query(
            "SELECT COALESCE(qty, 0) AS q FROM stock WHERE item_id = ? AND location_id = ?",
            (item_id, location_id),
            one=True,
        )
    return row["q"] if row else 0


def move_stock(item_id, location_id, delta, reason, reference=None):
    if reason not in MOVEMENT_REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    if delta == 0:
        return
    db = get_db()
    current = on_hand(item_id, location_id)
    if current + delta < 0 and not app.config.get("ALLOW_NEGATIVE", False):
        raise ValueError(f"only {current} in stock at this location")
    db.execute(
        "INSERT INTO stock (item_id, location_id, qty) VALUES (?, ?, ?) "
        "ON CONFLICT(item_id, location_id) DO UPDATE SET qty = qty + excluded.qty",
        (item_id, location_id, delta),
    )
    user = current_user()
    db.execute(
        "INSERT INTO movements (item_id, location_id, delta, reason, reference, user_id, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (item_id, location_id, delta, reason, reference, user["id"] if user else None, now()),
    )
    db.commit()


def transfer(item_id, from_location, to_location, qty, reference=None):
    if from_location == to_location:
        raise ValueError("same location")
    move_stock(item_id, from_location, -qty, "transfer", reference)
    move_stock(item_id, to_location, qty, "transfer", reference)


def stock_value(by="category"):
    rows = query(
        "SELECT i.category, i.supplier_id, i.cost, COALESCE(SUM(s.qty), 0) AS qty "
        "FROM items i LEFT JOIN stock s ON s.item_id = i.id WHERE i.archived = 0 GROUP BY i.id"
    )
    totals = defaultdict(lambda: Total(0, Decimal("0.00")))
    for r in rows:
        key = r["category"] if by == "category" else r["supplier_id"]
        t = totals[key or "-"]
        totals[key or "-"] = Total(t.qty + r["qty"], t.value + money(r["cost"]) * r["qty"])
    return dict(totals)


def low_stock():
    return query(
        "SELECT i.*, COALESCE(SUM(s.qty), 0) AS on_hand, sup.name AS supplier "
        "FROM items i LEFT JOIN stock s ON s.item_id = i.id "
        "LEFT JOIN suppliers sup ON sup.id = i.supplier_id "
        "WHERE i.archived = 0 GROUP BY i.id HAVING on_hand <= i.reorder_level ORDER BY sup.name, i.sku"
    )


def suggest_orders():
    """Group the low items by supplier with the quantity to reorder."""
    suggestions = defaultdict(list)
    for item in low_stock():
        qty = max(item["reorder_qty"], item["reorder_level"] - item["on_hand"] + 1)
        suggestions[item["supplier_id"]].append((item, qty))
    return suggestions


def sales_velocity(item_id, days=30):
    since = (dt.datetime.now() - dt.timedelta(days=days)).isoformat(timespec="seconds")
    row = query(
        "SELECT COALESCE(-SUM(delta), 0) AS sold FROM movements "
        "WHERE item_id = ? AND reason = 'sale' AND at >= ?",
        (item_id, since),
        one=True,
    )
    return row["sold"] / days


def days_of_cover(item_id):
    velocity = sales_velocity(item_id)
    if velocity <= 0:
        return None
    return round(on_hand(item_id) / velocity, 1)


def parse_item_form(form):
    errors = []
    sku = form.get("sku", "").strip().upper()
    if not SKU_RE.match(sku):
        errors.append("SKU must be 3-32 letters, digits or dashes")
    name = form.get("name", "").strip()
    if not name:
        errors.append("name is required")
    data = {
        "sku": sku,
        "barcode": form.get("barcode", "").strip() or None,
        "name": name,
        "category": form.get("category", "").strip() or None,
        "unit": form.get("unit", "pcs").strip() or "pcs",
        "cost": str(money(form.get("cost", "0"))),
        "price": str(money(form.get("price", "0"))),
        "supplier_id": int(form["supplier_id"]) if form.get("supplier_id") else None,
    }
    for field in ("reorder_level", "reorder_qty"):
        try:
            data[field] = max(0, int(form.get(field, 0) or 0))
        except ValueError:
            errors.append(f"{field.replace('_', ' ')} must be a number")
    return data, errors


def categories():
    return [r["category"] for r in query("SELECT DISTINCT category FROM items WHERE category IS NOT NULL ORDER BY 1")]


# ---------------------------------------------------------------------------
# Views: login
# ---------------------------------------------------------------------------


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        user = query("SELECT * FROM users WHERE username = ? AND active = 1", (request.form.get("username"),), one=True)
        if user and check_password(user, request.form.get("password", "")):
            session.clear()
            session["uid"] = user["id"]
            log.info("login %s from %s", user["username"], request.remote_addr)
            target = request.form.get("next") or url_for("items")
            if not target.startswith("/"):
                target = url_for("items")
            return redirect(target)
        flash("Wrong user name or password.")
    return page("Log in", LOGIN, next=request.args.get("next", ""))


@app.route("/logout")
def logout():
    session.clear()
    return redirect(url_for("login"))


@app.route("/")
@login_required
def home():
    return redirect(url_for("items"))


# ---------------------------------------------------------------------------
# Views: items
# ---------------------------------------------------------------------------


@app.route("/items")
@login_required
def items():
    q = request.args.get("q", "").strip()
    category = request.args.get("category", "")
    low = request.args.get("low") == "1"
    try:
        page_no = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page_no = 1
    where, params = ["i.archived = 0"], []
    if q:
        where.append("(i.sku LIKE ? OR i.name LIKE ? OR i.barcode = ?)")
        params += [f"%{q}%", f"%{q}%", q]
    if category:
        where.append("i.category = ?")
        params.append(category)
    sql = (
        "SELECT i.*, COALESCE(SUM(s.qty), 0) AS on_hand, sup.name AS supplier FROM items i "
        "LEFT JOIN stock s ON s.item_id = i.id LEFT JOIN suppliers sup ON sup.id = i.supplier_id "
        f"WHERE {' AND '.join(where)} GROUP BY i.id"
    )
    if low:
        sql += " HAVING on_hand <= i.reorder_level"
    rows = query(sql + " ORDER BY i.sku", params)
    per_page = app.config["ITEMS_PER_PAGE"]
    pages = max(1, (len(rows) + per_page - 1) // per_page)
    shown = rows[(page_no - 1) * per_page : page_no * per_page]
    return page(
        "Items", ITEMS, rows=shown, q=q, category=category, low=low,
        categories=categories(), page=page_no, pages=pages,
    )


@app.route("/items/new", methods=["GET", "POST"])
@role_required("admin", "manager")
def item_new():
    if request.method == "POST":
        data, errors = parse_item_form(request.form)
        if not errors:
            try:
                item_id = execute(
                    "INSERT INTO items (sku, barcode, name, category, unit, cost, price, reorder_level, "
                    "reorder_qty, supplier_id) VALUES (:sku, :barcode, :name, :category, :unit, :cost, "
                    ":price, :reorder_level, :reorder_qty, :supplier_id)",
                    data,
                )
            except sqlite3.IntegrityError:
                errors.append(f"SKU {data['sku']} exists already")
            else:
                flash(f"Item {data['sku']} created.")
                return redirect(url_for("item_detail", item_id=item_id))
        for e in errors:
            flash(e)
    suppliers_ = query("SELECT id, name FROM suppliers ORDER BY name")
    return page("New item", ITEM_FORM, item=None, suppliers=suppliers_, categories=categories())


@app.route("/items/<int:item_id>")
@login_required
def item_detail(item_id):
    item = query("SELECT * FROM items WHERE id = ?", (item_id,), one=True) or abort(404)
    supplier = query("SELECT * FROM suppliers WHERE id = ?", (item["supplier_id"],), one=True)
    stock = query(
        "SELECT l.code, COALESCE(s.qty, 0) AS qty FROM locations l "
        "LEFT JOIN stock s ON s.location_id = l.id AND s.item_id = ? ORDER BY l.code",
        (item_id,),
    )
    moves = query(
        "SELECT m.*, l.code, u.username FROM movements m JOIN locations l ON l.id = m.location_id "
        "LEFT JOIN users u ON u.id = m.user_id WHERE m.item_id = ? ORDER BY m.at DESC LIMIT 25",
        (item_id,),
    )
    return page(
        item["sku"], ITEM_DETAIL, item=item, supplier=supplier, stock=stock, moves=moves,
        locations=query("SELECT * FROM locations ORDER BY code"), reasons=MOVEMENT_REASONS,
    )


@app.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@role_required("admin", "manager")
def item_edit(item_id):
    item = query("SELECT * FROM items WHERE id = ?", (item_id,), one=True) or abort(404)
    if request.method == "POST":
        data, errors = parse_item_form(request.form)
        if not errors:
            data["id"] = item_id
            execute(
                "UPDATE items SET sku=:sku, barcode=:barcode, name=:name, category=:category, unit=:unit, "
                "cost=:cost, price=:price, reorder_level=:reorder_level, reorder_qty=:reorder_qty, "
                "supplier_id=:supplier_id WHERE id=:id",
                data,
            )
            flash("Saved.")
            return redirect(url_for("item_detail", item_id=item_id))
        for e in errors:
            flash(e)
    suppliers_ = query("SELECT id, name FROM suppliers ORDER BY name")
    return page("Edit item", ITEM_FORM, item=item, suppliers=suppliers_, categories=categories())


@app.route("/items/<int:item_id>/archive", methods=["POST"])
@role_required("admin")
def item_archive(item_id):
    if on_hand(item_id):
        flash("Only items with no stock left can be archived.")
    else:
        execute("UPDATE items SET archived = 1 WHERE id = ?", (item_id,))
        flash("Archived.")
    return redirect(url_for("items"))


@app.route("/items/<int:item_id>/move", methods=["POST"])
@login_required
def item_move(item_id):
    try:
        delta = int(request.form["delta"])
        move_stock(
            item_id,
            int(request.form["location_id"]),
            delta,
            request.form.get("reason", "adjustment"),
            request.form.get("reference") or None,
        )
    except (KeyError, ValueError) as e:
        flash(f"Not recorded: {e}")
    else:
        flash(f"Recorded {delta:+d}.")
    return redirect(url_for("item_detail", item_id=item_id))


@app.route("/items/export.csv")
@login_required
def items_export():
    rows = query(
        "SELECT i.sku, i.barcode, i.name, i.category, i.unit, i.cost, i.price, i.reorder_level, "
        "i.reorder_qty, sup.name AS supplier, COALESCE(SUM(s.qty), 0) AS on_hand FROM items i "
        "LEFT JOIN stock s ON s.item_id = i.id LEFT JOIN suppliers sup ON sup.id = i.supplier_id "
        "WHERE i.archived = 0 GROUP BY i.id ORDER BY i.sku"
    )
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["sku", "barcode", "name", "category", "unit", "cost", "price",
                     "reorder_level", "reorder_qty", "supplier", "on_hand"])
    for r in rows:
        writer.writerow(list(r))
    filename = f"items-{dt.date.today().isoformat()}.csv"
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@app.route("/items/import", methods=["POST"])
@role_required("admin")
def items_import():
    upload = request.files.get("file")
    if upload is None:
        abort(400)
    reader = csv.DictReader(io.StringIO(upload.read().decode("utf-8-sig")))
    created = updated = 0
    problems = []
    for n, row in enumerate(reader, start=2):
        data, errors = parse_item_form(row)
        if errors:
            problems.append(f"line {n}: {'; '.join(errors)}")
            continue
        existing = query("SELECT id FROM items WHERE sku = ?", (data["sku"],), one=True)
        if existing:
            data["id"] = existing["id"]
            execute(
                "UPDATE items SET barcode=:barcode, name=:name, category=:category, unit=:unit, cost=:cost, "
                "price=:price, reorder_level=:reorder_level, reorder_qty=:reorder_qty WHERE id=:id",
                data,
            )
            updated += 1
        else:
            data.pop("supplier_id", None)
            execute(
                "INSERT INTO items (sku, barcode, name, category, unit, cost, price, reorder_level, reorder_qty) "
                "VALUES (:sku, :barcode, :name, :category, :unit, :cost, :price, :reorder_level, :reorder_qty)",
                data,
            )
            created += 1
    flash(f"Import: {created} created, {updated} updated, {len(problems)} problems.")
    for p in problems[:20]:
        flash(p)
    return redirect(url_for("items"))


# ---------------------------------------------------------------------------
# Views: suppliers and locations
# ---------------------------------------------------------------------------

SUPPLIER_FIELDS = [
    ("name", "Name"),
    ("contact", "Contact"),
    ("email", "E-mail"),
    ("phone", "Phone"),
    ("lead_days", "Lead time (days)"),
    ("notes", "Notes"),
]


@app.route("/suppliers")
@login_required
def suppliers():
    rows = []
    for s in query("SELECT * FROM suppliers ORDER BY name"):
        link = f'<a href="{url_for("supplier_edit", supplier_id=s["id"])}">{s["name"]}</a>'
        count = query("SELECT COUNT(*) AS n FROM items WHERE supplier_id = ?", (s["id"],), one=True)["n"]
        rows.append([link, s["contact"] or "", s["email"] or "", s["phone"] or "", s["lead_days"], count])
    return page(
        "Suppliers", SIMPLE_TABLE, heading="Suppliers", rows=rows,
        headers=["Name", "Contact", "E-mail", "Phone", "Lead days", "Items"],
        new_url=url_for("supplier_new"),
    )


def supplier_from_form(form):
    data = {name: form.get(name, "").strip() or None for name, _ in SUPPLIER_FIELDS}
    try:
        data["lead_days"] = int(data["lead_days"] or 7)
    except ValueError:
        data["lead_days"] = 7
    if data["email"] and "@" not in data["email"]:
        flash("That e-mail address looks wrong; saved anyway.")
    return data


@app.route("/suppliers/new", methods=["GET", "POST"])
@role_required("admin", "manager")
def supplier_new():
    if request.method == "POST":
        data = supplier_from_form(request.form)
        if not data["name"]:
            flash("A name is required.")
        else:
            execute(
                "INSERT INTO suppliers (name, contact, email, phone, lead_days, notes) "
                "VALUES (:name, :contact, :email, :phone, :lead_days, :notes)",
                data,
            )
            return redirect(url_for("suppliers"))
    fields = [(name, label, request.form.get(name)) for name, label in SUPPLIER_FIELDS]
    return page("New supplier", FORM, heading="New supplier", fields=fields)


@app.route("/suppliers/<int:supplier_id>", methods=["GET", "POST"])
@role_required("admin", "manager")
def supplier_edit(supplier_id):
    supplier = query("SELECT * FROM suppliers WHERE id = ?", (supplier_id,), one=True) or abort(404)
    if request.method == "POST":
        data = supplier_from_form(request.form)
        data["id"] = supplier_id
        execute(
            "UPDATE suppliers SET name=:name, contact=:contact, email=:email, phone=:phone, "
            "lead_days=:lead_days, notes=:notes WHERE id=:id",
            data,
        )
        flash("Saved.")
        return redirect(url_for("suppliers"))
    fields = [(name, label, supplier[name]) for name, label in SUPPLIER_FIELDS]
    return page(supplier["name"], FORM, heading=supplier["name"], fields=fields)


@app.route("/locations", methods=["GET", "POST"])
@login_required
def locations():
    if request.method == "POST":
        if current_user()["role"] != "admin":
            abort(403)
        code = request.form.get("code", "").strip().upper()
        if code:
            try:
                execute("INSERT INTO locations (code, description) VALUES (?, ?)",
                        (code, request.form.get("description")))
            except sqlite3.IntegrityError:
                flash(f"{code} exists already.")
        return redirect(url_for("locations"))
    rows = []
    for loc in query("SELECT * FROM locations ORDER BY code"):
        totals = query(
            "SELECT COUNT(*) AS items, COALESCE(SUM(qty), 0) AS units FROM stock WHERE location_id = ? AND qty != 0",
            (loc["id"],),
            one=True,
        )
        rows.append([loc["code"], loc["description"] or "", totals["items"], totals["units"]])
    body = page("Locations", SIMPLE_TABLE, heading="Locations", rows=rows,
                headers=["Code", "Description", "Items", "Units"], new_url=None)
    return body


@app.route("/transfer", methods=["POST"])
@login_required
def transfer_view():
    try:
        item = query("SELECT id FROM items WHERE sku = ?", (request.form["sku"].upper(),), one=True)
        if item is None:
            raise ValueError("unknown SKU")
        transfer(
            item["id"],
            int(request.form["from_location"]),
            int(request.form["to_location"]),
            int(request.form["qty"]),
            request.form.get("reference"),
        )
    except (KeyError, ValueError) as e:
        flash(f"Transfer failed: {e}")
    else:
        flash("Transferred.")
    return redirect(request.referrer or url_for("items"))


# ---------------------------------------------------------------------------
# Views: movements
# ---------------------------------------------------------------------------


@app.route("/movements")
@login_required
def movements():
    reason = request.args.get("reason")
    day = request.args.get("day")
    where, params = [], []
    if reason in MOVEMENT_REASONS:
        where.append("m.reason = ?")
        params.append(reason)
    if day:
        where.append("substr(m.at, 1, 10) = ?")
        params.append(day)
    sql = (
        "SELECT m.at, i.sku, i.name, l.code, m.delta, m.reason, m.reference, u.username "
        "FROM movements m JOIN items i ON i.id = m.item_id JOIN locations l ON l.id = m.location_id "
        "LEFT JOIN users u ON u.id = m.user_id"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = [
        [r["at"], r["sku"], r["name"], r["code"], f'{r["delta"]:+d}', r["reason"], r["reference"] or "", r["username"] or ""]
        for r in query(sql + " ORDER BY m.at DESC LIMIT 500", params)
    ]
    return page(
        "Movements", SIMPLE_TABLE, heading="Movements", rows=rows, new_url=None,
        headers=["When", "SKU", "Item", "Location", "Delta", "Reason", "Reference", "By"],
    )


@app.route("/count", methods=["GET", "POST"])
@role_required("admin", "manager")
def stock_count():
    """Stocktake: type the counted quantity, the difference is recorded as a 'count' movement."""
    location_id = int(request.values.get("location_id", 1))
    if request.method == "POST":
        changed = 0
        for key, value in request.form.items():
            if not key.startswith("count_") or value == "":
                continue
            item_id = int(key[6:])
            try:
                counted = int(value)
            except ValueError:
                flash(f"Not a number for item {item_id}: {value}")
                continue
            delta = counted - on_hand(item_id, location_id)
            if delta:
                move_stock(item_id, location_id, delta, "count", f"stocktake {dt.date.today()}")
                changed += 1
        flash(f"Stocktake saved: {changed} corrections.")
        return redirect(url_for("stock_count", location_id=location_id))
    rows = query(
        "SELECT i.id, i.sku, i.name, COALESCE(s.qty, 0) AS qty FROM items i "
        "LEFT JOIN stock s ON s.item_id = i.id AND s.location_id = ? WHERE i.archived = 0 ORDER BY i.sku",
        (location_id,),
    )
    table = [
        [r["sku"], r["name"], r["qty"], f'<input name="count_{r["id"]}" size="5">']
        for r in rows
    ]
    body = render_template_string(SIMPLE_TABLE, heading="Stocktake", rows=table, new_url=None,
                                  headers=["SKU", "Item", "Expected", "Counted"])
    form = (
        f'<form method="post"><input type="hidden" name="location_id" value="{location_id}">'
        f"{body}<button>Save count</button></form>"
    )
    return render_template_string(LAYOUT, title="Stocktake", body=form)


# ---------------------------------------------------------------------------
# Views: purchase orders
# ---------------------------------------------------------------------------


def order_lines(order_id):
    lines = query(
        "SELECT ol.*, i.sku, i.name FROM order_lines ol JOIN items i ON i.id = ol.item_id "
        "WHERE ol.order_id = ? ORDER BY i.sku",
        (order_id,),
    )
    result = []
    for line in lines:
        row = dict(line)
        row["line_total"] = money(line["cost"]) * line["qty"]
        result.append(row)
    return result


def order_total(order_id):
    return sum((line["line_total"] for line in order_lines(order_id)), Decimal("0.00"))


@app.route("/orders")
@login_required
def orders():
    status = request.args.get("status")
    sql = "SELECT o.*, s.name AS supplier FROM orders o JOIN suppliers s ON s.id = o.supplier_id"
    params = []
    if status in ORDER_STATUSES:
        sql += " WHERE o.status = ?"
        params.append(status)
    rows = []
    for o in query(sql + " ORDER BY o.id DESC", params):
        link = f'<a href="{url_for("order_detail", order_id=o["id"])}">#{o["id"]}</a>'
        rows.append([link, o["supplier"], o["status"], o["created"], o["sent"] or "", order_total(o["id"])])
    return page(
        "Orders", SIMPLE_TABLE, heading="Purchase orders", rows=rows,
        headers=["Order", "Supplier", "Status", "Created", "Sent", "Total"],
        new_url=url_for("orders_suggest"),
    )


@app.route("/orders/suggest", methods=["GET", "POST"])
@role_required("admin", "manager")
def orders_suggest():
    suggestions = suggest_orders()
    if request.method == "POST":
        created = []
        for supplier_id, lines in suggestions.items():
            if supplier_id is None:
                continue
            order_id = execute(
                "INSERT INTO orders (supplier_id, status, created) VALUES (?, 'draft', ?)",
                (supplier_id, now()),
            )
            for item, qty in lines:
                execute(
                    "INSERT INTO order_lines (order_id, item_id, qty, cost) VALUES (?, ?, ?, ?)",
                    (order_id, item["id"], qty, item["cost"]),
                )
            created.append(order_id)
        flash(f"{len(created)} draft orders created.")
        return redirect(url_for("orders"))
    rows = []
    for supplier_id, lines in suggestions.items():
        supplier = query("SELECT name FROM suppliers WHERE id = ?", (supplier_id,), one=True)
        for item, qty in lines:
            rows.append([supplier["name"] if supplier else "(no supplier)", item["sku"], item["name"],
                         item["on_hand"], item["reorder_level"], qty])
    table = render_template_string(SIMPLE_TABLE, heading="Suggested orders", rows=rows, new_url=None,
                                   headers=["Supplier", "SKU", "Item", "On hand", "Reorder at", "Order"])
    body = table + '<form method="post"><button>Create draft orders</button></form>'
    return render_template_string(LAYOUT, title="Suggested orders", body=body)


@app.route("/orders/<int:order_id>")
@login_required
def order_detail(order_id):
    order = query("SELECT * FROM orders WHERE id = ?", (order_id,), one=True) or abort(404)
    supplier = query("SELECT * FROM suppliers WHERE id = ?", (order["supplier_id"],), one=True)
    lines = order_lines(order_id)
    total = sum((line["line_total"] for line in lines), Decimal("0.00"))
    return page(
        f"Order {order_id}", ORDER_DETAIL, order=order, supplier=supplier, lines=lines, total=total,
        locations=query("SELECT * FROM locations ORDER BY code"),
    )


@app.route("/orders/<int:order_id>/lines", methods=["POST"])
@role_required("admin", "manager")
def order_add_line(order_id):
    order = query("SELECT * FROM orders WHERE id = ?", (order_id,), one=True) or abort(404)
    if order["status"] != "draft":
        flash("Only draft orders can be changed.")
        return redirect(url_for("order_detail", order_id=order_id))
    item = query("SELECT * FROM items WHERE sku = ?", (request.form.get("sku", "").upper(),), one=True)
    if item is None:
        flash("Unknown SKU.")
    else:
        qty = max(1, int(request.form.get("qty", 1) or 1))
        execute("INSERT INTO order_lines (order_id, item_id, qty, cost) VALUES (?, ?, ?, ?)",
                (order_id, item["id"], qty, item["cost"]))
    return redirect(url_for("order_detail", order_id=order_id))


@app.route("/orders/<int:order_id>/send", methods=["POST"])
@role_required("admin", "manager")
def order_send(order_id):
    execute("UPDATE orders SET status = 'sent', sent = ? WHERE id = ? AND status = 'draft'", (now(), order_id))
    supplier = query(
        "SELECT s.* FROM suppliers s JOIN orders o ON o.supplier_id = s.id WHERE o.id = ?", (order_id,), one=True
    )
    if supplier and supplier["email"]:
        flash(f"Remember to e-mail the order to {supplier['email']}.")
    return redirect(url_for("order_detail", order_id=order_id))


@app.route("/orders/<int:order_id>/receive", methods=["POST"])
@login_required
def order_receive(order_id):
    order = query("SELECT * FROM orders WHERE id = ?", (order_id,), one=True) or abort(404)
    if order["status"] not in ("sent", "partial"):
        abort(409)
    location_id = int(request.form["location_id"])
    complete = True
    for line in order_lines(order_id):
        try:
            qty = int(request.form.get(f"recv_{line['id']}", 0) or 0)
        except ValueError:
            qty = 0
        qty = min(qty, line["qty"] - line["received_qty"])
        if qty > 0:
            move_stock(line["item_id"], location_id, qty, "receipt", f"PO {order_id}")
            execute("UPDATE order_lines SET received_qty = received_qty + ? WHERE id = ?", (qty, line["id"]))
        if line["received_qty"] + qty < line["qty"]:
            complete = False
    status = "received" if complete else "partial"
    execute("UPDATE orders SET status = ?, received = ? WHERE id = ?", (status, now(), order_id))
    flash(f"Order {order_id}: {status}.")
    return redirect(url_for("order_detail", order_id=order_id))


@app.route("/orders/<int:order_id>/cancel", methods=["POST"])
@role_required("admin")
def order_cancel(order_id):
    execute("UPDATE orders SET status = 'cancelled' WHERE id = ? AND status IN ('draft', 'sent')", (order_id,))
    return redirect(url_for("orders"))


@app.route("/orders/<int:order_id>.csv")
@login_required
def order_csv(order_id):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";")
    writer.writerow(["sku", "name", "qty", "cost", "total"])
    for line in order_lines(order_id):
        writer.writerow([line["sku"], line["name"], line["qty"], line["cost"], line["line_total"]])
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=order-{order_id}.csv"})


# ---------------------------------------------------------------------------
# Views: reports
# ---------------------------------------------------------------------------


@app.route("/reports")
@login_required
def reports():
    by = request.args.get("by", "category")
    totals = stock_value(by)
    if by == "supplier":
        names = {s["id"]: s["name"] for s in query("SELECT id, name FROM suppliers")}
        rows = [[names.get(k, "(none)"), t.qty, t.value] for k, t in totals.items()]
    else:
        rows = [[k, t.qty, t.value] for k, t in totals.items()]
    rows.sort(key=lambda r: r[2], reverse=True)
    grand = sum((r[2] for r in rows), Decimal("0.00"))
    rows.append(["<strong>Total</strong>", sum(r[1] for r in rows), f"<strong>{grand}</strong>"])
    return page(
        "Reports", SIMPLE_TABLE, heading=f"Stock value by {by}", rows=rows,
        headers=[by.title(), "Units", "Value"], new_url=None,
    )


@app.route("/reports/slow")
@login_required
def report_slow_movers():
    days = int(request.args.get("days", 90))
    since = (dt.datetime.now() - dt.timedelta(days=days)).isoformat(timespec="seconds")
    rows = query(
        "SELECT i.sku, i.name, COALESCE(SUM(s.qty), 0) AS on_hand, "
        "(SELECT MAX(at) FROM movements m WHERE m.item_id = i.id AND m.reason = 'sale') AS last_sale "
        "FROM items i LEFT JOIN stock s ON s.item_id = i.id WHERE i.archived = 0 GROUP BY i.id "
        "HAVING on_hand > 0 AND (last_sale IS NULL OR last_sale < ?) ORDER BY last_sale",
        (since,),
    )
    table = [[r["sku"], r["name"], r["on_hand"], r["last_sale"] or "never"] for r in rows]
    return page("Slow movers", SIMPLE_TABLE, heading=f"No sale in {days} days", rows=table,
                headers=["SKU", "Item", "On hand", "Last sale"], new_url=None)


@app.route("/reports/cover")
@login_required
def report_cover():
    rows = []
    for item in query("SELECT id, sku, name FROM items WHERE archived = 0 ORDER BY sku"):
        cover = days_of_cover(item["id"])
        if cover is not None and cover < app.config.get("COVER_WARNING_DAYS", 14):
            rows.append([item["sku"], item["name"], on_hand(item["id"]), round(sales_velocity(item["id"]), 2), cover])
    return page("Cover", SIMPLE_TABLE, heading="Items running out", rows=rows,
                headers=["SKU", "Item", "On hand", "Sold/day", "Days left"], new_url=None)


@app.route("/reports/movements.json")
@login_required
def report_movements_json():
    days = int(request.args.get("days", 30))
    since = (dt.date.today() - dt.timedelta(days=days)).isoformat()
    series = defaultdict(lambda: defaultdict(int))
    for r in query("SELECT substr(at, 1, 10) AS day, reason, SUM(delta) AS total FROM movements "
                   "WHERE at >= ? GROUP BY day, reason", (since,)):
        series[r["reason"]][r["day"]] = r["total"]
    return jsonify({reason: dict(days_) for reason, days_ in series.items()})


# ---------------------------------------------------------------------------
# Admin
# ---------------------------------------------------------------------------


@app.route("/admin/users", methods=["GET", "POST"])
@role_required("admin")
def admin_users():
    if request.method == "POST":
        action = request.form.get("action")
        if action == "create":
            username = request.form.get("username", "").strip()
            password = request.form.get("password", "")
            role = request.form.get("role", "clerk")
            if len(password) < 8:
                flash("Passwords need 8 characters or more.")
            elif role not in ("clerk", "manager", "admin"):
                flash("Unknown role.")
            else:
                try:
                    create_user(username, password, role)
                    flash(f"User {username} created.")
                except sqlite3.IntegrityError:
                    flash(f"{username} exists already.")
        elif action in ("disable", "enable"):
            uid = int(request.form["uid"])
            if uid == current_user()["id"]:
                flash("You cannot disable yourself.")
            else:
                execute("UPDATE users SET active = ? WHERE id = ?", (1 if action == "enable" else 0, uid))
        elif action == "reset":
            uid = int(request.form["uid"])
            password = secrets.token_urlsafe(9)
            pw_hash, salt = hash_password(password)
            execute("UPDATE users SET pw_hash = ?, salt = ? WHERE id = ?", (pw_hash, salt, uid))
            flash(f"New password: {password}")
        return redirect(url_for("admin_users"))
    rows = []
    for u in query("SELECT * FROM users ORDER BY username"):
        toggle = "enable" if not u["active"] else "disable"
        buttons = (
            f'<form class="inline" method="post"><input type="hidden" name="uid" value="{u["id"]}">'
            f'<button name="action" value="{toggle}">{toggle}</button>'
            f'<button name="action" value="reset">reset password</button></form>'
        )
        rows.append([u["username"], u["role"], "yes" if u["active"] else "no", u["created"], buttons])
    table = render_template_string(SIMPLE_TABLE, heading="Users", rows=rows, new_url=None,
                                   headers=["User", "Role", "Active", "Created", ""])
    form = """
<h2>New user</h2>
<form method="post"><input type="hidden" name="action" value="create">
<input name="username" placeholder="user name"> <input name="password" type="password" placeholder="password">
<select name="role"><option>clerk</option><option>manager</option><option>admin</option></select>
<button>Create</button></form>"""
    return render_template_string(LAYOUT, title="Users", body=table + form)


@app.route("/admin/backup", methods=["POST"])
@role_required("admin")
def admin_backup():
    backup_db(app.config["DATABASE"], keep=app.config["KEEP_BACKUPS"])
    flash("Backup done.")
    return redirect(request.referrer or url_for("items"))


@app.route("/admin/vacuum", methods=["POST"])
@role_required("admin")
def admin_vacuum():
    get_db().execute("VACUUM")
    flash("Database compacted.")
    return redirect(request.referrer or url_for("items"))


# ---------------------------------------------------------------------------
# JSON API for the barcode scanners
# ---------------------------------------------------------------------------


def item_json(row):
    return {
        "id": row["id"],
        "sku": row["sku"],
        "barcode": row["barcode"],
        "name": row["name"],
        "unit": row["unit"],
        "price": row["price"],
        "on_hand": on_hand(row["id"]),
    }


@app.route("/api/v1/items/<code>")
@api_key_required
def api_item(code):
    row = query("SELECT * FROM items WHERE (barcode = ? OR sku = ?) AND archived = 0", (code, code.upper()), one=True)
    if row is None:
        return jsonify(error="unknown item", code=code), 404
    return jsonify(item_json(row))


@app.route("/api/v1/items")
@api_key_required
def api_items():
    since = request.args.get("changed_since")
    rows = query("SELECT * FROM items WHERE archived = 0 ORDER BY sku")
    if since:
        changed = {r["item_id"] for r in query("SELECT DISTINCT item_id FROM movements WHERE at >= ?", (since,))}
        rows = [r for r in rows if r["id"] in changed]
    return jsonify(items=[item_json(r) for r in rows], at=now())


@app.route("/api/v1/scan", methods=["POST"])
@api_key_required
def api_scan():
    """A scanner posts {"code": ..., "qty": -1, "location": "MAIN", "reason": "sale"}."""
    data = request.get_json(silent=True) or {}
    code = str(data.get("code", ""))
    row = query("SELECT * FROM items WHERE barcode = ? OR sku = ?", (code, code.upper()), one=True)
    if row is None:
        return jsonify(error="unknown item", code=code), 404
    location = query("SELECT id FROM locations WHERE code = ?", (data.get("location", "MAIN"),), one=True)
    if location is None:
        return jsonify(error="unknown location"), 400
    try:
        move_stock(row["id"], location["id"], int(data.get("qty", -1)), data.get("reason", "sale"),
                   data.get("reference"))
    except ValueError as e:
        return jsonify(error=str(e)), 409
    return jsonify(item_json(row))


@app.route("/api/v1/low")
@api_key_required
def api_low():
    return jsonify([{"sku": r["sku"], "name": r["name"], "on_hand": r["on_hand"],
                     "reorder_level": r["reorder_level"]} for r in low_stock()])


@app.route("/api/v1/batch", methods=["POST"])
@api_key_required
def api_batch():
    """Offline scanners upload what they recorded while the Wi-Fi was down."""
    results = []
    for n, entry in enumerate(request.get_json(silent=True) or []):
        code = str(entry.get("code", ""))
        row = query("SELECT id FROM items WHERE barcode = ? OR sku = ?", (code, code.upper()), one=True)
        location = query("SELECT id FROM locations WHERE code = ?", (entry.get("location", "MAIN"),), one=True)
        if row is None or location is None:
            results.append({"n": n, "ok": False, "error": "unknown item or location"})
            continue
        try:
            move_stock(row["id"], location["id"], int(entry.get("qty", -1)), entry.get("reason", "sale"),
                       entry.get("reference") or f"batch {now()}")
        except ValueError as e:
            results.append({"n": n, "ok": False, "error": str(e)})
        else:
            results.append({"n": n, "ok": True})
    return jsonify(results=results, failed=sum(1 for r in results if not r["ok"]))


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


@app.errorhandler(403)
def forbidden(e):
    if request.path.startswith("/api/"):
        return jsonify(error="forbidden"), 403
    return render_template_string(LAYOUT, title="Forbidden", body="<h1>Not allowed</h1>"), 403


@app.errorhandler(404)
def not_found(e):
    if request.path.startswith("/api/"):
        return jsonify(error="not found"), 404
    return render_template_string(LAYOUT, title="Not found", body="<h1>Not found</h1>"), 404


@app.errorhandler(500)
def server_error(e):
    log.exception("server error on %s", request.path)
    return render_template_string(LAYOUT, title="Error", body="<h1>Something went wrong</h1>"), 500


@app.template_filter("qty")
def format_qty(value):
    return f"{value:,}".replace(",", " ")


@app.template_filter("json")
def to_json(value):
    return json.dumps(value, default=str)


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def ensure_admin(password):
    if query("SELECT COUNT(*) AS n FROM users", one=True)["n"] == 0:
        create_user("admin", password, "admin")
        log.warning("created user 'admin' with the password given on the command line")


def main():
    parser = argparse.ArgumentParser(description="Workshop inventory manager")
    parser.add_argument("--db", default="inventory.sqlite", help="SQLite database file")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--admin-password", default=None, help="create the admin user on first start")
    parser.add_argument("--keep-backups", type=int, default=14, help="daily backups kept")
    parser.add_argument("--per-page", type=int, default=50)
    parser.add_argument("--api-key", action="append", default=[], help="key for the scanners; repeatable")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()

    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    app.config["DATABASE"] = args.db
    app.config["KEEP_BACKUPS"] = args.keep_backups
    app.config["ITEMS_PER_PAGE"] = args.per_page
    app.config["API_KEYS"] = set(args.api_key)
    init_db(args.db)
    backup_db(args.db, keep=args.keep_backups)
    if args.admin_password:
        with app.app_context():
            ensure_admin(args.admin_password)
    log.info("inventory on http://%s:%d/", args.host, args.port)
    app.run(host=args.host, port=args.port, debug=args.debug)


if __name__ == "__main__":
    main()
