"""granian: a Rust HTTP server running WSGI apps in worker processes.

flaskd binds the socket itself and hands granian its file descriptor: granian
has no API for that, so `MainProcess` (`_granian_main`) overrides its private
``_init_shared_socket`` (granian 2.x). granian serves one address only.

Each worker runs the start-up hooks in granian's target loader, before it
serves, and the shutdown hooks at its exit (granian's workers leave through
``os._exit``, so through `multiprocessing.util.Finalize`, not ``atexit``).
With ``preload`` the hooks run once, in the main process. The workers tell
the main process over a pipe that their hooks ran, or how they failed; a
thread of the main process reads it for as long as the server runs. The main
process reports ready once every worker has, and turns a worker's failing
hook into the same `StartupError` as with any other backend.

At ``max_connections``, each worker closes its connections that never sent a byte, the
oldest first, to let new clients in (`_granian_room`).

A worker that dies is started again (granian's ``respawn_failed_workers``) and
runs the start-up hooks again; one whose hook fails then stops the server as
at start (exit 3). granian gives up (exit 1) when a worker dies again within
5.5 s of being respawned.

How a worker stops (a graceful stop, cut at the graceful timeout, the quick
stop on a second SIGTERM or SIGINT or on SIGQUIT, or the main process gone) is
in `_granian_worker`. granian's own kill of a worker that will not stop comes
only `KILL_MARGIN` seconds after the graceful timeout, as a last resort.
"""

from __future__ import annotations

import json
import logging
import multiprocessing.util
import os
import select
import socket
import sys
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar

from granian import _signals as granian_signals
from granian import wsgi as granian_wsgi
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server import mp as granian_mp

from .._errors import ConfigError, StartupError
from .._middleware import WSGIApp
from .._sockets import BACKLOG, describe
from . import _granian_room
from ._granian_main import MainProcess, main_thread_only
from ._granian_worker import WorkerStop
from .base import KILL_MARGIN, Server
from .granian_http import (
    UNDERSCORE_WARNING,
    HeaderLimits,
    check_limits,
    http1_settings,
    http2_settings,
    http_mode,
)

if TYPE_CHECKING:
    from .._settings import Serve

log = logging.getLogger("flaskd")


def _without_process_env(wrap: Callable[..., Any]) -> Callable[..., Any]:
    """granian's WSGI callback wrapper, made to start each environ empty, not from os.environ.

    granian builds every request's environ on ``dict(os.environ)`` taken when
    it wraps the app, so ``PATH`` or a secret in the environment would reach
    the app (and its error pages) in every request. The wrapper reads
    ``os.environ`` through ``granian.wsgi``'s module global ``os``, which is
    swapped for the duration of that one call.
    """

    def call_wrap(*args: Any) -> Any:
        real_os = granian_wsgi.os  # type: ignore[attr-defined]
        granian_wsgi.os = SimpleNamespace(environ={})  # type: ignore[attr-defined,assignment]
        try:
            return wrap(*args)
        finally:
            granian_wsgi.os = real_os  # type: ignore[attr-defined]

    return call_wrap


class SmallBodies:
    """Give granian a response of known, small length as one list of bytes.

    granian writes a list from Rust in one go, but steps through any other
    iterable in Python, a chunk per call; Flask's responses are iterators
    (werkzeug's ``ClosingIterator``) even when the body is one short string.
    A response whose ``Content-Length`` is at most ``limit`` is joined here
    (and the iterator closed); others stream unchanged.
    """

    def __init__(self, app: WSGIApp, limit: int = 64 * 1024) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = ""

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal length
            for name, value in headers:
                if name.lower() == "content-length":
                    length = value
            return start_response(status, headers, exc_info)

        body = self.app(environ, capture)
        if isinstance(body, list) or not length.isdigit() or int(length) > self.limit:
            return body
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()


#: Merged into granian's logging dictConfig (main process and workers): its lines go through
#: flaskd's handler and format, like every backend's, not to stdout in a format of its own.
_LOGGING = {
    "handlers": {"flaskd": {"()": "flaskd._logging.flaskd_handler"}},
    "loggers": {"_granian": {"handlers": ["flaskd"], "propagate": False}},
}


class GranianServer(Server):
    """Serve with granian: worker processes, one address, hooks in each worker."""

    name = "granian"
    package = "granian"
    unsupported: ClassVar[dict[str, str]] = {
        "body_timeout": "it waits for a body without a time limit, and flaskd cannot reach"
        " its connections; put a buffering proxy in front, or choose waitress or gunicorn",
    }

    @classmethod
    def check_supported(cls, config: Serve) -> None:
        super().check_supported(config)
        if len(config.bind) > 1:
            raise ConfigError(
                f"{config.source('bind')}: granian serves one address only, not"
                f" {len(config.bind)}: give one bind, or choose waitress or gunicorn"
            )
        check_limits(config)

    def wsgi_app(self) -> WSGIApp:
        return HeaderLimits(super().wsgi_app(), self.config)

    def run(self) -> None:
        config = self.config
        self.warn_before_forking()
        sockets = self.open_sockets()
        if len(sockets) != 1:
            places = ", ".join(describe(s) for s in sockets)
            self.close_sockets(sockets)
            raise ConfigError(f"granian serves one address only, not {len(sockets)}: {places}")
        sock = sockets[0]
        self._sock = sock
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        self._quick_read, self._quick_write = os.pipe()
        self._reports = threading.Condition()
        self._reader: threading.Thread | None = None
        self._failure: ConfigError | StartupError | None = None
        self._buffer = b""
        self._closed = False
        self._ready: set[int] = set()
        self.is_ready = False
        try:
            if config.preload:
                self.service.start(self.resolved)
            server = self._granian(sock)
            try:
                server.serve(target_loader=self._load)
            except SystemExit as e:
                # granian exits 1 when a worker died: a failing start-up hook if one said so.
                self.read_reports()
                if self._failure is not None:
                    raise self._failure from None
                raise SystemExit(e.code) from None
            finally:
                server.close_wake()
        finally:
            self._stop_reading()
            with self._reports:  # granian's watcher threads may still be about
                self._closed = True
                for fd in (self._read, self._write, self._quick_read, self._quick_write):
                    os.close(fd)
            self.close_sockets(sockets)
        self.service.stop()  # with preload; without, the workers ran theirs

    def _granian(self, sock: socket.socket) -> MainProcess:
        config = self.config
        if config.forwarded_allow_ips:
            log.warning(UNDERSCORE_WARNING)
        return MainProcess(
            f"flaskd:{self.service.app.name}",  # a label (process title), never imported
            flaskd=self,
            sock=sock,
            interface=Interfaces.WSGI,
            workers=config.workers,
            blocking_threads=config.threads,
            backlog=BACKLOG,
            backpressure=config.max_connections,
            http=http_mode(config),
            http1_settings=http1_settings(config),
            http2_settings=http2_settings(config),
            log_level=LogLevels(config.log_level),
            log_dictconfig=_LOGGING,
            websockets=False,  # WSGI has none; granian would log that it ignores them
            log_access=False,  # flaskd's middleware logs requests when access_log is on
            respawn_failed_workers=True,
            # A last resort: each worker cuts its requests at the graceful timeout itself.
            workers_kill_timeout=config.graceful_timeout + KILL_MARGIN,
        )

    # -- in each worker ---------------------------------------------------------------------

    def _load(self, target: str) -> WSGIApp:
        """granian's target loader: runs in each worker process before it serves."""
        preload = self.config.preload
        stop = WorkerStop(
            (lambda: None) if preload else self.service.stop,
            self.config.graceful_timeout,
            self._quick_read,
        )
        # Only the main process keeps the write end: the read sees EOF once it is gone.
        os.close(self._quick_write)
        if not preload:
            try:
                self.service.start(self.resolved)
            except (ConfigError, StartupError) as e:
                hook = getattr(e, "hook_name", "?")
                self._report(
                    {"error": type(e).__name__, "message": e.format_message(), "hook": hook}
                )
                sys.exit(e.exit_code)
            multiprocessing.util.Finalize(None, self.service.stop, exitpriority=10)
        # granian wraps the app and sets up its stop signal right after the loader returns.
        call_wrap = granian_mp._wsgi_call_wrap  # type: ignore[attr-defined]
        granian_mp._wsgi_call_wrap = _without_process_env(call_wrap)  # type: ignore[attr-defined]
        granian_signals.set_sync_signals = stop.granian_signal
        _granian_room.start(self._sock, self.config.max_connections, stop.stopping)
        self._report({"ready": os.getpid()})
        return SmallBodies(self.wsgi_app())

    def _report(self, message: dict[str, Any]) -> None:
        os.write(self._write, json.dumps(message).encode() + b"\n")  # atomic: < PIPE_BUF

    # -- in the main process ----------------------------------------------------------------

    def quick_stop(self, workers: int) -> None:
        """Make every worker run its shutdown hooks and exit now, cutting its requests."""
        os.write(self._quick_write, b"!" * workers)

    def start_reading(self) -> None:
        """Read the workers' reports in a thread for as long as the server runs: every worker
        start writes one, and a pipe nobody reads fills up and blocks the next worker."""
        self._reader = threading.Thread(target=self._read_while_serving, name="flaskd-reports")
        self._reader.start()

    def _read_while_serving(self) -> None:
        main_thread_only()
        while self._reader is not None:
            select.select([self._read], [], [], 0.5)
            self.read_reports()

    def _stop_reading(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            os.write(self._write, b"\n")  # wakes it up
            reader.join()

    def wait_for_workers(self, count: int, interrupted: Any) -> bool:
        """Wait until ``count`` workers ran their hooks; False on a failure or a stop first."""
        with self._reports:
            while len(self._ready) < count:
                if self._failure is not None or interrupted.is_set():
                    return False
                self._reports.wait(0.05)
            self.is_ready = True
        return True

    def worker_exited(self, pid: int) -> bool:
        """Note that a worker ended; True if a start-up hook failed (the dead worker said so)."""
        self.read_reports()  # what it wrote before it died
        with self._reports:
            self._ready.discard(pid)
            return self._failure is not None

    def read_reports(self) -> None:
        """Take every report waiting in the pipe (from any thread of the main process)."""
        with self._reports:
            while not self._closed:
                try:
                    data = os.read(self._read, 65536)
                except BlockingIOError:
                    break
                if not data:
                    break
                self._buffer += data
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in filter(None, lines):
                self._receive(json.loads(line))
            self._reports.notify_all()

    def _receive(self, message: dict[str, Any]) -> None:
        if "ready" in message:
            self._ready.add(message["ready"])
            if self.is_ready:
                log.info("worker %s restarted: its start-up hooks ran", message["ready"])
        elif self._failure is None:
            self._failure = _rebuild(message["error"], message["message"], message["hook"])


def _rebuild(kind: str, message: str, hook: str) -> ConfigError | StartupError:
    """The error a worker reported, to raise in the main process."""
    if kind == "ConfigError":
        return ConfigError(message)
    return StartupError.relayed(hook, message)
