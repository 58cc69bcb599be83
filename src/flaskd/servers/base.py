"""What every server backend shares."""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._config import Resolved
    from .._service import Service

log = logging.getLogger("flaskd")


class Server:
    """A backend: bind, start the service, serve until a signal, then stop the service.

    ``run`` returns after a graceful stop. It calls ``service.start(resolved)``
    after binding, so that a port already in use fails before the start-up
    hooks run, and ``service.stop()`` once the last request has been answered.
    """

    name = "?"

    def __init__(self, service: Service, resolved: Resolved) -> None:
        self.service = service
        self.resolved = resolved
        self.options: dict[str, Any] = resolved.serve_values()

    def run(self) -> None:
        raise NotImplementedError


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` names a loopback interface only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
