"""Serving a resolved service with the chosen backend, and turning user mistakes into exit codes."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ._errors import ConfigError, StartupError
from ._logging import setup_logging
from .servers.base import load_server

if TYPE_CHECKING:
    from ._config import Resolved
    from ._protocols import Lifecycle

log = logging.getLogger("flaskd")


def serve(service: Lifecycle, resolved: Resolved, *, dev: bool = False) -> None:
    """Serve ``service`` with the backend the configuration names until a graceful stop.

    Raises `ConfigError` for a setting the backend cannot honour or an address
    it cannot bind, and `StartupError` when a start-up hook fails.
    """
    config = resolved.settings
    setup_logging(config.log_level, config.log_format, config.log_config)
    name = "dev" if dev else config.server
    server = load_server(name)(service, resolved)
    try:
        server.run()
    except StartupError as e:
        log.debug("start-up hook %s failed", e.hook_name, exc_info=e.__cause__)
        raise


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
