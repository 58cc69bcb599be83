"""Server backends, a registry of import strings.

A backend is imported only when it is chosen, so an optional dependency
(gunicorn, granian) is needed only by those who use it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .._errors import ConfigError

if TYPE_CHECKING:
    from .base import Server

#: Backend name -> "module:class". The first is the default.
SERVERS = {
    "waitress": "flaskd.servers.waitress:WaitressServer",
    "gunicorn": "flaskd.servers.gunicorn:GunicornServer",
    "granian": "flaskd.servers.granian:GranianServer",
    "dev": "flaskd.servers.dev:DevServer",
}

#: Backend name -> the extra that installs its dependency.
EXTRAS: dict[str, str] = {"gunicorn": "gunicorn", "granian": "granian"}


def load_server(name: str) -> type[Server]:
    """Import and return the server class registered under ``name``."""
    module_name, _, class_name = SERVERS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if name in EXTRAS and e.name == EXTRAS[name]:
            raise ConfigError(
                f"{name} is not installed: pip install 'flaskd[{EXTRAS[name]}]'"
            ) from None
        raise
    server: type[Server] = getattr(module, class_name)
    return server
