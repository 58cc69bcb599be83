"""Flask's development server: reloader and debugger, on loopback only."""

from __future__ import annotations

import signal
from typing import Any

from werkzeug.serving import is_running_from_reloader, run_simple

from .._errors import ConfigError
from .base import Server, is_loopback


class DevServer(Server):
    """Werkzeug's server with the reloader and the interactive debugger.

    The debugger runs any code its user types, so it is refused on any
    address but loopback.
    """

    name = "dev"

    def run(self) -> None:
        host, port = self.options["host"], self.options["port"]
        if not is_loopback(host):
            source = self.resolved.serve["host"].source
            raise ConfigError(
                f"{source}: dev mode refuses host {host!r}: its debugger runs any code it is sent;"
                " use 127.0.0.1, ::1 or localhost, or serve without --dev"
            )
        if is_running_from_reloader():
            self.service.start(self.resolved, dev=True)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            run_simple(
                host,
                port,
                self.service,
                use_reloader=True,
                use_debugger=True,
                threaded=True,
            )
        finally:
            self.service.stop()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
