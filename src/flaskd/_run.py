"""Serving a resolved service with the chosen backend, and turning user mistakes into exit codes."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ._errors import ConfigError, StartupError
from .servers import load_server

if TYPE_CHECKING:
    from ._config import Resolved
    from ._service import Service

log = logging.getLogger("flaskd")


def serve(service: Service, resolved: Resolved, *, dev: bool = False) -> None:
    """Serve ``service`` with the backend the configuration names until a graceful stop.

    Raises `ConfigError` for a setting the backend cannot honour or an address
    it cannot bind, and `StartupError` when a start-up hook fails.
    """
    setup_logging(resolved.serve["log_level"].value)
    name = "dev" if dev else resolved.serve["server"].value
    server = load_server(name)(service, resolved)
    try:
        server.run()
    except StartupError as e:
        log.debug("start-up hook %s failed", e.hook_name, exc_info=e.__cause__)
        raise


#: The loggers whose lines flaskd shows, in its format: its own and the servers'.
SERVER_LOGGERS = ("flaskd", "waitress", "gunicorn", "_granian", "werkzeug")

#: flaskd's one handler: stderr, ``logger: LEVEL: message``.
HANDLER = logging.StreamHandler()
HANDLER.setFormatter(logging.Formatter("%(name)s: %(levelname)s: %(message)s"))


def flaskd_handler() -> logging.Handler:
    """flaskd's handler, for a server's logging configuration (granian's ``dictConfig``)."""
    return HANDLER


def setup_logging(level: str) -> None:
    """Send flaskd's and the server's log lines to stderr at ``level``.

    The root logger is left to the app: its own ``logging.basicConfig()``
    still works (also in a start-up hook), and its lines keep its format.
    """
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [HANDLER]
        logger.setLevel(level.upper())
        logger.propagate = False


@contextlib.contextmanager
def exit_on_error(prog: str) -> Iterator[None]:
    """Turn a user mistake into one line on stderr and exit 2; a failing hook into exit 3."""
    try:
        yield
    except ConfigError as e:
        print(f"{prog}: error: {e.format_message()}", file=sys.stderr)
        sys.exit(e.exit_code)
    except StartupError as e:
        print(f"{prog}: error: {e.format_message()}", file=sys.stderr)
        sys.exit(e.exit_code)
