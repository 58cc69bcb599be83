"""Server backends, a registry of import strings.

A backend is imported only when it is chosen (`flaskd.servers.base.load_server`), so an
optional dependency (gunicorn, granian) is needed only by those who use it.
"""

from __future__ import annotations

#: Backend name -> "module:class". The first is the default.
SERVERS = {
    "waitress": "flaskd.servers.waitress:WaitressServer",
    "gunicorn": "flaskd.servers.gunicorn:GunicornServer",
    "granian": "flaskd.servers.granian:GranianServer",
    "dev": "flaskd.servers.dev:DevServer",
}

#: Backend name -> the extra that installs its dependency.
EXTRAS: dict[str, str] = {"gunicorn": "gunicorn", "granian": "granian"}
