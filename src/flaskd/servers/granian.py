"""granian: a Rust HTTP server running WSGI apps in worker processes.

flaskd binds the socket itself and hands granian its file descriptor: granian
has no API for that, so `_Granian` overrides its private
``_init_shared_socket`` (granian 2.x). granian serves one address only.

Each worker runs the start-up hooks in granian's target loader, before it
serves, and the shutdown hooks at its exit (granian's workers leave through
``os._exit``, so through `multiprocessing.util.Finalize`, not ``atexit``).
With ``preload`` the hooks run once, in the main process. The workers tell
the main process over a pipe that their hooks ran, or how they failed; the
main process reports ready once every worker has, and turns a worker's
failing hook into the same `StartupError` as with any other backend.

A second SIGTERM or SIGINT, or SIGQUIT, is a quick stop: the main process
writes a byte per worker to another pipe, on which a thread in each worker
waits; that thread runs the worker's shutdown hooks and ends the process,
cutting the requests in flight. The same thread ends the worker when the main
process dies (the pipe's end of file), so no worker outlives a killed server.
"""

from __future__ import annotations

import json
import logging
import multiprocessing.util
import os
import select
import signal
import socket
import sys
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar

from granian import _signals as granian_signals
from granian import wsgi as granian_wsgi
from granian._granian import SocketHolder
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server import mp as granian_mp
from granian.server.mp import MPServer

from .._errors import ConfigError, StartupError
from .._middleware import WSGIApp
from .._sockets import BACKLOG, describe
from .base import Server
from .granian_http import (
    UNDERSCORE_WARNING,
    HeaderLimits,
    check_limits,
    http1_settings,
    http2_settings,
    http_mode,
)

if TYPE_CHECKING:
    from .._config import Resolved

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


def _sigterm_only(set_signals: Callable[[], Any]) -> Callable[[], Any]:
    """granian's set-up of a worker's stop signals, made to ignore SIGINT in the worker.

    A worker stops when granian's main process sends it SIGTERM. Ctrl-C (or a
    SIGINT to the process group) also reaches every worker at the same moment,
    and a granian worker that gets SIGINT and SIGTERM at once sometimes never
    stops (about one stop in three with two workers, bare granian 2.8 too),
    until killed after the graceful timeout, its shutdown hooks never run.
    """

    def set_up() -> Any:
        event = set_signals()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return event

    return set_up


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


class _Granian(MPServer):
    """granian serving a socket flaskd opened, and telling flaskd when a stop begins.

    ``MPServer`` (worker processes) is what ``granian.Granian`` is on GIL builds.
    """

    def __init__(self, *args: Any, flaskd: GranianServer, sock: socket.socket, **kw: Any) -> None:
        self._flaskd = flaskd
        self._flaskd_sock = sock
        super().__init__(*args, **kw)

    @property
    def _bind_addr_fmt(self) -> str:  # granian's log line "Listening at: http://..."
        return describe(self._flaskd_sock).removeprefix("http://")

    def _init_shared_socket(self) -> None:
        sock = self._flaskd_sock
        sock.set_inheritable(True)
        self._ssp, self._sso = None, sock
        self._sfd = sock.fileno()  # type: ignore[assignment]
        is_unix = sock.family == socket.AF_UNIX
        holder = SocketHolder(sock.fileno(), is_unix, self.backlog)  # type: ignore[call-arg]
        self._shd = holder  # type: ignore[assignment]

    def _spawn_worker(self, *args: Any, **kwargs: Any) -> Any:
        worker = super()._spawn_worker(*args, **kwargs)
        if worker._spawn_method != "fork":
            # The workers inherit the app, the service and flaskd's pipes: they must be
            # forked, also where Python's default start method is another (forkserver from
            # 3.14 on, which granian turns into spawn). The process is not started yet.
            worker._spawn_method = "fork"
            worker._spawn(worker.inner._target, worker.inner._args)  # type: ignore[no-untyped-call]
        return worker

    def startup(self, spawn_target: Any, target_loader: Any) -> None:
        # Binds nothing (the socket is flaskd's), forks the workers.
        super().startup(spawn_target, target_loader)  # type: ignore[no-untyped-call]
        signal.signal(signal.SIGQUIT, self.signal_handler_quit)
        # Threads may start only now that the workers are forked.
        if self._flaskd.wait_for_workers(self.workers, self.main_loop_interrupt):
            self._flaskd.ready([describe(self._flaskd_sock)])

    def signal_handler_interrupt(self, *args: Any, **kwargs: Any) -> None:
        if os.getpid() != self.pid:
            # A worker not yet serving still has the main's handlers: it just exits. Before
            # its loader, nothing ran (and raising could break granian's event loop set-up).
            if not self._flaskd.loading:
                os._exit(0)
            raise SystemExit(0)  # the hooks stop; multiprocessing runs Finalize
        if self.interrupt_signal:
            self._flaskd.quick_stop(self.workers)  # a second signal
            return
        try:
            self._flaskd.stopping()
        except Exception:  # an exception escaping here would hang granian
            log.exception("cannot report the stop")
        super().signal_handler_interrupt(*args, **kwargs)  # type: ignore[no-untyped-call]

    def signal_handler_quit(self, *args: Any) -> None:
        if not self.interrupt_signal:
            self.signal_handler_interrupt(*args)
        self._flaskd.quick_stop(self.workers)


class GranianServer(Server):
    """Serve with granian: worker processes, one address, hooks in each worker."""

    name = "granian"
    package = "granian"
    unsupported: ClassVar[dict[str, str]] = {
        "body_timeout": "it waits for a body without a time limit, and flaskd cannot reach"
        " its connections; put a buffering proxy in front, or choose waitress or gunicorn",
    }

    @classmethod
    def check_supported(cls, resolved: Resolved) -> None:
        super().check_supported(resolved)
        bind = resolved.serve["bind"]
        if len(bind.value) > 1:
            raise ConfigError(
                f"{bind.source}: granian serves one address only, not {len(bind.value)}:"
                " give one bind, or choose waitress or gunicorn"
            )
        check_limits(resolved)

    def wsgi_app(self) -> WSGIApp:
        return HeaderLimits(super().wsgi_app(), self.options)

    def run(self) -> None:
        opts = self.options
        self.warn_before_forking()
        sockets = self.open_sockets()
        if len(sockets) != 1:
            places = ", ".join(describe(s) for s in sockets)
            self.close_sockets(sockets)
            raise ConfigError(f"granian serves one address only, not {len(sockets)}: {places}")
        sock = sockets[0]
        self._read, self._write = os.pipe()
        self._quick_read, self._quick_write = os.pipe()
        self._failure: ConfigError | StartupError | None = None
        self._buffer = b""
        self._ready: set[int] = set()
        self.loading = False
        try:
            if opts["preload"]:
                self.service.start(self.resolved)
            server = self._granian(sock)
            try:
                server.serve(target_loader=self._load)
            except SystemExit as e:
                # granian exits 1 when a worker died: a failing start-up hook if one said so.
                self._read_reports(0)
                if self._failure is not None:
                    raise self._failure from None
                raise SystemExit(e.code) from None
        finally:
            for fd in (self._read, self._write, self._quick_read, self._quick_write):
                os.close(fd)
            self.close_sockets(sockets)
        self.service.stop()  # with preload; without, the workers ran theirs

    def _granian(self, sock: socket.socket) -> _Granian:
        opts = self.options
        if opts["forwarded_allow_ips"]:
            log.warning(UNDERSCORE_WARNING)
        return _Granian(
            f"flaskd:{self.service.app.name}",  # a label (process title), never imported
            flaskd=self,
            sock=sock,
            interface=Interfaces.WSGI,
            workers=opts["workers"],
            blocking_threads=opts["threads"],
            backlog=BACKLOG,
            backpressure=opts["max_connections"],
            http=http_mode(opts),
            http1_settings=http1_settings(opts),
            http2_settings=http2_settings(opts),
            log_level=LogLevels(opts["log_level"]),
            log_dictconfig=_LOGGING,
            websockets=False,  # WSGI has none; granian would log that it ignores them
            log_access=False,  # flaskd's middleware logs requests when access_log is on
            # granian waits forever when this is 0 or None.
            workers_kill_timeout=max(opts["graceful_timeout"], 0.001),
        )

    # -- in each worker ---------------------------------------------------------------------

    def _load(self, target: str) -> WSGIApp:
        """granian's target loader: runs in each worker process before it serves."""
        self.loading = True
        if not self.options["preload"]:
            try:
                self.service.start(self.resolved)
            except (ConfigError, StartupError) as e:
                hook = getattr(e, "hook_name", "?")
                self._report(
                    {"error": type(e).__name__, "message": e.format_message(), "hook": hook}
                )
                sys.exit(e.exit_code)
            multiprocessing.util.Finalize(None, self.service.stop, exitpriority=10)
        # Only the main process keeps the write end: the read sees EOF once it is gone.
        os.close(self._quick_write)
        threading.Thread(target=self._wait_for_quick_stop, daemon=True).start()
        # granian wraps the app right after the loader returns (in this worker).
        call_wrap = granian_mp._wsgi_call_wrap  # type: ignore[attr-defined]
        granian_mp._wsgi_call_wrap = _without_process_env(call_wrap)  # type: ignore[attr-defined]
        granian_signals.set_sync_signals = _sigterm_only(granian_signals.set_sync_signals)
        self._report({"ready": os.getpid()})
        return SmallBodies(self.wsgi_app())

    def _wait_for_quick_stop(self) -> None:
        if not os.read(self._quick_read, 1):  # EOF: the main process is gone (killed)
            log.warning("worker %s: the main process is gone; stopping", os.getpid())
        if not self.options["preload"]:
            self.service.stop()
        logging.shutdown()
        os._exit(0)

    def _report(self, message: dict[str, Any]) -> None:
        os.write(self._write, json.dumps(message).encode() + b"\n")  # atomic: < PIPE_BUF

    # -- in the main process ----------------------------------------------------------------

    def quick_stop(self, workers: int) -> None:
        """Make every worker run its shutdown hooks and exit now, cutting its requests."""
        log.info("stopping at once: requests in flight are cut")
        os.write(self._quick_write, b"!" * workers)

    def wait_for_workers(self, count: int, interrupted: Any) -> bool:
        """Wait until ``count`` workers ran their hooks; False on a failure or a stop first."""
        while len(self._ready) < count:
            if self._failure is not None or interrupted.is_set():
                return False
            self._read_reports(0.05)
        return True

    def _read_reports(self, timeout: float) -> None:
        while select.select([self._read], [], [], timeout)[0]:
            self._buffer += os.read(self._read, 65536)
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in lines:
                self._receive(json.loads(line))
            timeout = 0

    def _receive(self, message: dict[str, Any]) -> None:
        if "ready" in message:
            self._ready.add(message["ready"])
        elif self._failure is None:
            self._failure = _rebuild(message["error"], message["message"], message["hook"])


def _rebuild(kind: str, message: str, hook: str) -> ConfigError | StartupError:
    """The error a worker reported, to raise in the main process."""
    if kind == "ConfigError":
        return ConfigError(message)
    return StartupError.relayed(hook, message)
