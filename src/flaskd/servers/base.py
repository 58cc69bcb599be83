"""What every server backend shares: sockets, middleware, readiness, the stop signals."""

from __future__ import annotations

import gc
import importlib
import ipaddress
import logging
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import flask
from werkzeug.exceptions import HTTPException

from .. import _sdnotify
from .._errors import ConfigError
from .._logging import warn
from .._middleware import WSGIApp, wrap
from .._settings import SETTINGS
from .._sockets import addresses, describe, open_sockets, socket_files
from .._state import state as process_state
from . import EXTRAS, SERVERS

if TYPE_CHECKING:
    import threading

    from .._config import Resolved
    from .._protocols import Lifecycle
    from .._settings import Serve

log = logging.getLogger("flaskd")

#: Seconds a pre-fork main process waits past the graceful timeout before it kills a worker, a
#: last resort: each worker cuts its requests at the graceful timeout and runs its shutdown
#: hooks in this time.
KILL_MARGIN = 10


class Server:
    """A backend: bind, start the service, serve until a signal, then stop the service.

    ``run`` returns after a graceful stop. Backends open their sockets with
    `open_sockets` before the start-up hooks run (a port in use fails first),
    call `ready` once the hooks ran and the sockets listen, and `stopping`
    when a stop begins. ``unsupported`` names the settings a backend cannot
    honour (with the reason), so that giving one is an error, not ignored.
    """

    name = "?"
    package = "?"  # the package that serves, which the process must be able to read
    unsupported: ClassVar[dict[str, str]] = {}

    def __init__(self, service: Lifecycle, resolved: Resolved) -> None:
        self.service = service
        self.resolved = resolved
        #: The serving settings, typed.
        self.config: Serve = resolved.settings
        self.activated = False
        self._files: list[Path] = []
        self._watchdog: threading.Event | None = None
        self.check_supported(self.config)
        check_probe_paths(service.app, self.config)

    @classmethod
    def check_supported(cls, config: Serve) -> None:
        """Raise `ConfigError` for settings that conflict, or that this backend cannot honour
        set to anything but their default (``--workers 1`` is what waitress does anyway)."""
        for name in ("host", "port"):
            if _given(config.source("bind")) and _given(config.source(name)):
                raise ConfigError(
                    f"{config.source(name)}: {name} conflicts with bind from"
                    f" {config.source('bind')}: give the addresses with bind only, or host and"
                    " port only"
                )
        for name, reason in cls.unsupported.items():
            if getattr(config, name) != SETTINGS[name].field.default:
                raise ConfigError(
                    f"{config.source(name)}: {cls.name} cannot honour {name}: {reason}"
                )

    def run(self) -> None:
        raise NotImplementedError

    def warn_before_forking(self) -> None:
        """Log the start-up warnings in the main process, so that each worker's start (which
        inherits the record of what was said) does not repeat them."""
        warn(self.service.notes(self.resolved))

    def open_sockets(self) -> list[socket.socket]:
        """Bind every address (or take systemd's sockets); raises `ConfigError` naming one."""
        config = self.config
        places = addresses(config.bind, config.host, config.port, config.source("bind"))
        sockets, self.activated = open_sockets(places, config.unix_socket_mode)
        self._files = [] if self.activated else socket_files(sockets)
        return sockets

    def close_sockets(self, sockets: Sequence[socket.socket]) -> None:
        """Close the sockets; remove unix socket files flaskd made (not systemd's)."""
        for sock in sockets:
            sock.close()
        for file in self._files:
            file.unlink(missing_ok=True)

    def wsgi_app(self) -> WSGIApp:
        """The service wrapped in the middleware every backend shares."""
        return wrap(self.service.app, self.config)

    def ready(self, where: Sequence[str]) -> None:
        """Log and tell systemd that the service is ready: every process ran its hooks, the
        sockets listen; readiness answers 200 from now on."""
        process_state.serving()
        # What start-up made lives as long as the process: out of the cycle collector's
        # sight, each collection has less to walk (and forked workers copy fewer pages).
        gc.collect()
        gc.freeze()
        listening = ", ".join(where)
        activated = " (sockets from systemd)" if self.activated else ""
        log.info("serving on %s with %s%s", listening, self.name, activated)
        _sdnotify.notify("READY=1", f"STATUS=serving on {listening}", f"MAINPID={os.getpid()}")
        self._watchdog = _sdnotify.start_watchdog()

    def stopping(self, *, at_once: bool = False) -> None:
        """Log and tell systemd that a stop has begun; readiness turns 503 in every process
        of the server at once (the flag is shared with the workers).

        A graceful stop with a drain delay keeps serving that long, then the backend calls
        `drained`; ``at_once`` is a quick stop (SIGQUIT first).
        """
        process_state.stopping()
        _sdnotify.notify("STOPPING=1", "STATUS=stopping")
        if self._watchdog is not None:
            self._watchdog.set()
        if at_once:
            self.stopping_at_once()
        elif self.drain_delay:
            delay = self.drain_delay
            log.info("stopping: readiness is 503, still serving for %gs (drain delay)", delay)
        else:
            self.drained()

    def drained(self) -> None:
        """Log that the server stops accepting and lets the requests in flight finish."""
        log.info("stopping: finishing requests in flight")

    @property
    def drain_delay(self) -> float:
        """Seconds a stop keeps serving, readiness 503, before it stops accepting."""
        return float(self.config.drain_delay)

    def stopping_at_once(self) -> None:
        """Log a quick stop (a second signal, or SIGQUIT), in the same words on every backend."""
        log.info("stopping at once: requests in flight are cut")


def check_probe_paths(app: flask.Flask, config: Serve) -> None:
    """Raise `ConfigError` for a readiness or liveness path the app routes itself: flaskd
    would answer it, and the app's own route would never be reached."""
    adapter = app.url_map.bind("localhost")
    for name in ("ready_path", "live_path"):
        path = getattr(config, name)
        if path is None:
            continue
        try:
            endpoint, _ = adapter.match(path, method="GET")
        except HTTPException:
            continue  # not routed (404, 405), or a redirect to another path
        raise ConfigError(
            f"{config.source(name)}: {name} {path} is a route of the app ({endpoint}),"
            " which flaskd would hide: choose another path"
        )


def _given(source: str) -> bool:
    """Whether a setting's value was given by the user (flag, env, file), not a default."""
    return source != "app" and not source.startswith("default")


def describe_all(sockets: Sequence[socket.socket]) -> list[str]:
    return [describe(s) for s in sockets]


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` names a loopback interface only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
