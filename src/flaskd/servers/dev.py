"""Flask's development server: reloader and debugger, on loopback only."""

from __future__ import annotations

import logging
import signal
from typing import TYPE_CHECKING, Any, ClassVar

from werkzeug.serving import is_running_from_reloader, run_simple

from .._errors import ConfigError
from .._state import state as process_state
from .base import Server, is_loopback

if TYPE_CHECKING:
    from .._settings import Serve

log = logging.getLogger("flaskd")

#: Production tuning the development server has no use for: noted, not applied.
_TUNING = (
    "threads",
    "max_connections",
    "max_request_line",
    "max_header_fields",
    "max_header_size",
    "idle_timeout",
    "header_timeout",
    "body_timeout",
    "graceful_timeout",
    "unix_socket_mode",
)


class DevServer(Server):
    """Werkzeug's server with the reloader and the interactive debugger.

    The debugger runs any code its user types, so it is refused on any
    address but loopback.
    """

    name = "dev"
    package = "werkzeug"
    unsupported: ClassVar[dict[str, str]] = {
        "bind": "it listens on --host and --port only",
        "workers": "it serves from one process",
        "preload": "it reloads the app on every change instead",
        "http2": "it speaks HTTP/1.1 only",
    }

    @classmethod
    def check_supported(cls, config: Serve) -> None:
        super().check_supported(config)
        if not is_loopback(config.host):
            raise ConfigError(
                f"{config.source('host')}: dev mode refuses host {config.host!r}: its debugger"
                " runs any code it is sent; use 127.0.0.1, ::1 or localhost, or serve without"
                " --dev"
            )

    def run(self) -> None:
        host, port = self.config.host, self.config.port
        if not is_running_from_reloader():
            # A port in use is flaskd's one line and exit 2 here too, not werkzeug's exit 1.
            self.close_sockets(self.open_sockets())
        else:
            for name in _TUNING:
                if self.config.source(name) != "default":
                    log.warning(
                        "the dev server ignores %s (from %s)", name, self.config.source(name)
                    )
            self.service.start(self.resolved, dev=True)
            process_state.serving()  # one process: ready once its hooks ran
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            run_simple(
                host,
                port,
                self.wsgi_app(),  # trusted proxies, body limit and access log as in production
                use_reloader=True,
                use_debugger=True,
                threaded=True,
            )
        finally:
            self.service.stop()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
