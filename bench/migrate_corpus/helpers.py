"""Shared helpers for the Flask views: pagination, JSON errors, auth decorator."""
import functools
import math

from flask import abort, current_app, jsonify, request, session


class Page:
    def __init__(self, items, page, per_page, total):
        self.items = items
        self.page = page
        self.per_page = per_page
        self.total = total

    @property
    def pages(self):
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self):
        return self.page < self.pages

    @property
    def has_prev(self):
        return self.page > 1

    def as_dict(self):
        return {"items": self.items, "page": self.page, "pages": self.pages, "total": self.total}


def paginate(rows, per_page=None):
    per_page = per_page or current_app.config.get("PER_PAGE", 25)
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        abort(400)
    start = (page - 1) * per_page
    return Page(rows[start : start + per_page], page, per_page, len(rows))


def json_error(status, message, **extra):
    response = jsonify(error=message, status=status, **extra)
    response.status_code = status
    return response


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if "user_id" not in session:
            return json_error(401, "login required")
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    @functools.wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not session.get("is_admin"):
            return json_error(403, "admins only")
        return view(*args, **kwargs)

    return wrapped
