"""granian: a Rust HTTP server running WSGI apps in worker processes.

flaskd binds the socket itself and hands granian its file descriptor: granian
has no API for that, so `_Granian` overrides its private
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

import contextlib
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
from functools import partial
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
from . import _granian_room
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

#: The signals that only the main thread of the main process may take (see `_main_thread_only`).
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP}


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


class _Granian(MPServer):
    """granian serving a socket flaskd opened, and telling flaskd when a stop begins.

    ``MPServer`` (worker processes) is what ``granian.Granian`` is on GIL builds.
    """

    def __init__(self, *args: Any, flaskd: GranianServer, sock: socket.socket, **kw: Any) -> None:
        self._flaskd = flaskd
        self._flaskd_sock = sock
        # Signal handlers wake granian's main loop through this pipe and a thread (`_wake`).
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
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
        worker._watcher = partial(self._watch, worker)  # type: ignore[method-assign]
        return worker

    def _watch(self, worker: Any) -> None:
        """In place of granian's worker watcher (a thread): note a worker's end, have it respawned.

        granian's watcher reaps the worker (``join``) while the main thread may be reaping
        it too in a stop; the loser sees it "alive" and logs that it kills it. This one
        waits for the end without reaping it: the main thread alone reaps.
        """
        _main_thread_only()
        pid = worker.inner.pid
        try:
            status = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:  # reaped already: stopped by the main thread
            status = None
        failed = self._flaskd.worker_exited(pid)
        if worker.interrupt_by_parent or (self.interrupt_signal and not failed):
            # Stopped, not crashed: a worker that ends once a stop has begun (a quick stop
            # during the drain delay ends it before the main loop stops the workers) must
            # not count as a death, which granian would turn into exit code 1.
            return
        if failed:
            # A start-up hook failed (also in a respawned worker): stop as at start.
            if not self.interrupt_signal and self._flaskd.is_ready:
                self._flaskd.stopping()
            self.interrupt_signal = True
        else:
            log.error("worker %s died (%s); starting another", pid, _how_it_ended(status))
        self.interrupt_children.append(worker.idx)
        self.main_loop_interrupt.set()

    def startup(self, spawn_target: Any, target_loader: Any) -> None:
        # Binds nothing (the socket is flaskd's), forks the workers.
        super().startup(spawn_target, target_loader)  # type: ignore[no-untyped-call]
        signal.signal(signal.SIGQUIT, self.signal_handler_quit)
        # Threads may start only now that the first workers are forked.
        self._waker = threading.Thread(target=self._wake_on_signal, name="flaskd-wake", daemon=True)
        self._waker.start()
        self._flaskd.start_reading()
        if self._flaskd.wait_for_workers(self.workers, self.main_loop_interrupt):
            self._flaskd.ready([describe(self._flaskd_sock)])

    def _wake(self, flag: str) -> None:
        """Set granian's ``flag`` and wake its main loop, from a signal handler.

        granian's own handlers set the main loop's `threading.Event` there, but a handler
        runs in the main thread, which holds that event's lock for a moment as it enters its
        wait: a signal then (Ctrl-C right as the server became ready) waited for the lock
        forever. The byte in the pipe has a thread set the event instead.
        """
        setattr(self, flag, True)
        with contextlib.suppress(BlockingIOError):  # full: the thread has wakes to read
            os.write(self._wake_write, b"!")

    def _wake_on_signal(self) -> None:
        _main_thread_only()
        while os.read(self._wake_read, 64):
            self.main_loop_interrupt.set()
        os.close(self._wake_read)

    #: The thread that wakes the main loop; None until the workers are forked.
    _waker: threading.Thread | None = None

    def close_wake(self) -> None:
        """Let the waking thread end (once the workers, which share the pipe, are gone)."""
        os.close(self._wake_write)
        if self._waker is None:
            os.close(self._wake_read)

    def signal_handler_reload(self, *args: Any, **kwargs: Any) -> None:
        self._wake("reload_signal")

    def signal_handler_interrupt(self, *args: Any, **kwargs: Any) -> None:
        if os.getpid() != self.pid:
            # A worker whose loader has not run yet still has the main's handlers: nothing
            # ran, it just exits. (The loader gives it its own.)
            os._exit(0)
        if self.interrupt_signal or self._drain is not None:  # a second signal
            self._flaskd.stopping_at_once()
            self._end_drain()
            self._flaskd.quick_stop(self.workers)
            return
        try:
            self._flaskd.stopping()
        except Exception:  # an exception escaping here would hang granian
            log.exception("cannot report the stop")
        if self._flaskd.drain_delay:
            # Keep serving, readiness 503, then stop as granian does, from another thread:
            # setting granian's main-loop event is all its handler does.
            self._drain = threading.Event()
            threading.Thread(target=self._drain_then_stop, name="flaskd-drain", daemon=True).start()
            return
        self._wake("interrupt_signal")

    #: Set to end a drain delay early; None while no drain runs.
    _drain: threading.Event | None = None

    def _drain_then_stop(self) -> None:
        _main_thread_only()
        assert self._drain is not None
        if not self._drain.wait(self._flaskd.drain_delay):
            self._flaskd.drained()
            self._wake("interrupt_signal")

    def _end_drain(self) -> None:
        """Stop now if a drain delay is still running (a quick stop came first)."""
        if self._drain is not None and not self.interrupt_signal:
            self._drain.set()
            self._wake("interrupt_signal")

    def signal_handler_quit(self, *args: Any) -> None:
        if self.interrupt_signal or self._drain is not None:  # a stop has begun already
            self._flaskd.stopping_at_once()
            self._end_drain()
        else:
            self._flaskd.stopping(at_once=True)
            self._wake("interrupt_signal")
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

    def _granian(self, sock: socket.socket) -> _Granian:
        config = self.config
        if config.forwarded_allow_ips:
            log.warning(UNDERSCORE_WARNING)
        return _Granian(
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
        _main_thread_only()
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


def _how_it_ended(status: os.waitid_result | None) -> str:
    if status is None:
        return "reaped"
    if status.si_code == os.CLD_EXITED:
        return f"exit code {status.si_status}"
    return f"killed by {signal.Signals(status.si_status).name}"


def _main_thread_only() -> None:
    """Block the stop signals in the calling thread of the main process.

    The kernel may deliver a signal meant for the process to any thread that does not
    block it, and only the main thread runs Python's handlers: the main thread, asleep
    in granian's main loop, would never learn of a SIGTERM that landed elsewhere.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)


def _rebuild(kind: str, message: str, hook: str) -> ConfigError | StartupError:
    """The error a worker reported, to raise in the main process."""
    if kind == "ConfigError":
        return ConfigError(message)
    return StartupError.relayed(hook, message)
