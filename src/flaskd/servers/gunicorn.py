"""gunicorn: pre-forked worker processes (gthread), Unix only.

flaskd binds the sockets and hands gunicorn duplicates as ``fd://N`` binds,
so gunicorn neither binds nor unlinks anything and never looks at
``LISTEN_FDS``. gunicorn is embedded through its ``BaseApplication``: no
``sys.argv``, ``GUNICORN_CMD_ARGS`` or ``gunicorn.conf.py`` is read, and every
setting whose default gunicorn takes from the environment (``WEB_CONCURRENCY``,
``PORT``, ``FORWARDED_ALLOW_IPS``, the control socket's directory) is set.

Start-up hooks run in each worker after it is forked (``post_worker_init``),
or once in the master before forking with ``--preload``. Each worker reports
on a pipe once its hooks ran, which the master reads for as long as it runs;
the master sends READY=1 when every worker has reported (gunicorn's own
READY=1, sent before any worker exists, is suppressed). A worker whose hook
fails passes the one-line message to the master and exits 3, which makes
gunicorn halt; ``run`` then raises the `StartupError`, so the process exits 3
with that line.

Signals to the master:

* SIGTERM and SIGINT: graceful stop. The listeners close, the workers finish
  the requests in flight (up to ``graceful_timeout``; then they cut them), run
  their shutdown hooks and exit; ``run`` returns. The master kills a worker
  only ``KILL_MARGIN`` seconds after the graceful timeout. SIGINT is graceful as with the other
  backends (and as Ctrl-C reaches the workers too, they treat it as SIGTERM).
* A second SIGTERM or SIGINT during the stop, or SIGQUIT: quick stop. The
  workers run their shutdown hooks and exit at once, cutting the requests in
  flight.
* SIGHUP, SIGTTIN, SIGTTOU, SIGUSR1 keep gunicorn's meaning (new workers run
  the start-up hooks). SIGUSR2 (re-exec) is refused: flaskd owns the sockets.

The workers are gthread workers that give a thread a connection only once its
request's head is complete, with flaskd's time limits (`_gthread.Worker`).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import select
import signal
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.errors import HaltServer
from gunicorn.glogging import Logger

from .._errors import ConfigError, StartupError
from . import _gthread
from ._head import Limits
from .base import KILL_MARGIN, Server, describe_all

if TYPE_CHECKING:
    from .._settings import Serve

log = logging.getLogger("flaskd")

#: The exit code with which gunicorn's arbiter halts when a worker fails to boot.
WORKER_BOOT_ERROR = 3
#: A failure message longer than this is cut, so that one pipe write stays atomic.
_MAX_MESSAGE = 3000
#: The largest values gunicorn's parser honours (it uses these for anything larger).
_GUNICORN_MAX = {"max_request_line": 8190, "max_header_fields": 32768}


class _Log(Logger):  # type: ignore[misc]
    """gunicorn's log lines through flaskd's logging, in the format of every backend.

    gunicorn gives ``gunicorn.error`` a handler of its own, with its own format;
    here the logger keeps no handler and passes its records on to flaskd's.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            self.error_log.removeHandler(handler)
        self.error_log.propagate = True


class GunicornServer(Server):
    """Serve with gunicorn's gthread workers, starting the service in each worker."""

    name = "gunicorn"
    package = "gunicorn"
    unsupported: ClassVar[dict[str, str]] = {
        "http2": "it speaks HTTP/1.1 only; use --server granian"
    }

    @classmethod
    def check_supported(cls, config: Serve) -> None:
        super().check_supported(config)
        for name, most in _GUNICORN_MAX.items():
            if (value := getattr(config, name)) > most:
                raise ConfigError(
                    f"{config.source(name)}: gunicorn cannot honour {name} above {most}"
                    f" (got {value})"
                )

    def run(self) -> None:
        self.warn_before_forking()
        sockets = self.open_sockets()
        self._sockets = sockets
        self._descriptions = describe_all(sockets)
        self._master = os.getpid()
        self._reported: set[int] = set()
        self._failure = ""
        self._is_ready = False
        self._buffer = b""
        self._pipe = os.pipe()
        os.set_blocking(self._pipe[0], False)
        # Closed by the master once ready: workers wait on it so that none serves first.
        # The write end is None once closed: its number may then be another file's.
        self._go_read, go_write = os.pipe()
        self._go_write: int | None = go_write
        fds = [os.dup(s.fileno()) for s in sockets]  # gunicorn closes what it is given
        try:
            if self.config.preload:
                self.service.start(self.resolved)
            self._arbiter_run(_Application(self, fds))
        except SystemExit as e:
            if os.getpid() != self._master:
                raise  # a worker leaving through the master's call stack (gunicorn forks there)
            self._read_pipe()
            if e.code == WORKER_BOOT_ERROR and self._failure:
                hook = self._failure.removeprefix("start-up hook ").partition(" ")[0]
                raise StartupError.relayed(hook, self._failure) from None
            if e.code not in (0, None):
                raise
        finally:
            if os.getpid() == self._master:
                for fd in (*fds, *self._pipe, self._go_read):
                    with contextlib.suppress(OSError):
                        os.close(fd)
                self._close_go()
                self.close_sockets(sockets)
        self.service.stop()  # preload: the hooks ran here (also done in on_exit)

    def _arbiter_run(self, application: _Application) -> None:
        try:
            _Arbiter(application, self).run()
        except RuntimeError as e:
            log.error("gunicorn: %s", e)
            sys.exit(1)

    def gunicorn_settings(self, fds: list[int]) -> dict[str, Any]:
        """gunicorn's settings from flaskd's serving options, and the hooks."""
        config = self.config
        return {
            "bind": [f"fd://{fd}" for fd in fds],
            "reuse_port": False,
            "workers": config.workers,
            "worker_class": type(
                "gthread", (_gthread.Worker,), {"limits": Limits.from_config(config)}
            ),
            "threads": config.threads,
            "worker_connections": config.max_connections,
            "keepalive": math.ceil(config.idle_timeout),
            "limit_request_line": config.max_request_line,
            "limit_request_fields": config.max_header_fields,
            "limit_request_field_size": config.max_header_size + 2,  # gunicorn counts the CRLF
            # The master's kill, a last resort: each worker stops waiting for its requests at
            # the graceful timeout (set in the worker), runs its shutdown hooks, and exits.
            "graceful_timeout": math.ceil(config.graceful_timeout) + KILL_MARGIN,
            "preload_app": bool(config.preload),
            # flaskd's middleware does proxy headers: gunicorn leaves scheme and headers alone
            # (a unix-socket peer is always "trusted" by gunicorn, hence the empty header maps).
            "forwarded_allow_ips": "",
            "secure_scheme_headers": {},
            "forwarder_headers": "",
            "proxy_protocol": "off",
            "accesslog": None,  # flaskd's middleware logs requests
            "errorlog": "-",
            "loglevel": config.log_level,
            "logger_class": _Log,
            "control_socket_disable": True,
            "pidfile": None,
            "daemon": False,
            "proc_name": f"flaskd {self.service.app.name}",
            "on_starting": self._on_starting,
            "post_fork": self._post_fork,
            "post_worker_init": self._post_worker_init,
            "worker_int": self._worker_int,
            "worker_exit": self._worker_exit,
            "on_exit": self._on_exit,
        }

    # -- hooks in the master -----------------------------------------------------------------

    def _on_starting(self, arbiter: Any) -> None:
        arbiter.systemd = True  # the sockets are flaskd's: gunicorn must not unlink their files

    def _on_exit(self, arbiter: Any) -> None:
        self.service.stop()

    def _read_pipe(self) -> None:
        """Take the workers' reports: ``R<pid>`` once its hooks ran, ``F<message>`` on failure."""
        while True:
            try:
                data = os.read(self._pipe[0], 65536)
            except (BlockingIOError, OSError):
                break
            if not data:
                break
            self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            kind, body = line[:1], line[1:].decode(errors="replace")
            if kind == b"R":
                self._reported.add(int(body))
            elif kind == b"F" and not self._failure:
                self._failure = body

    def close_listeners(self) -> None:
        """Close the master's copies of the sockets (their files go at the end of `run`)."""
        for sock in self._sockets:
            sock.close()

    def check_ready(self, workers: dict[int, Any], count: int) -> None:
        """Send READY=1 once every worker has run its start-up hooks.

        The pipe is read for as long as the server runs: every worker start (a HUP, a
        recycled or respawned worker) writes to it, and a full pipe would block the next.
        """
        self._read_pipe()
        self._reported &= set(workers)
        if not self._is_ready and len(self._reported) >= count:
            self._is_ready = True
            self.ready(self._descriptions)
            self._close_go()  # the workers waiting for it start serving

    def _close_go(self) -> None:
        if self._go_write is not None:
            os.close(self._go_write)
            self._go_write = None

    # -- hooks in the workers ----------------------------------------------------------------

    def _post_fork(self, arbiter: Any, worker: Any) -> None:
        # Readiness and the watchdog are the master's (NotifyAccess=main).
        for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            os.environ.pop(name, None)
        for sock in self._sockets:
            sock.close()  # gunicorn's duplicates serve; flaskd's stay with the master
        self._close_go()  # a worker forked after READY (after a HUP) has it closed already
        if self.config.preload:
            # Hooks ran in the master: its shutdown hooks must not run again in each worker.
            atexit.unregister(self.service.stop)

    def _post_worker_init(self, worker: Any) -> None:
        # Ctrl-C reaches the workers too: make it as graceful as SIGTERM.
        signal.signal(signal.SIGINT, worker.handle_exit)
        enable = worker.set_accept_enabled

        def set_accept_enabled(on: bool) -> None:
            enable(on)
            if not on and not worker.alive:
                # A graceful stop: close the listeners now, not after the requests in
                # flight, so that new connections are refused instead of left waiting.
                for sock in worker.sockets:
                    sock.close()

        worker.set_accept_enabled = set_accept_enabled
        worker.cfg.set("graceful_timeout", math.ceil(self.config.graceful_timeout))
        if not self.config.preload:
            try:
                self.service.start(self.resolved)
            except StartupError as e:
                log.debug("start-up failure in worker %s", os.getpid(), exc_info=e.__cause__)
                message = e.format_message().replace("\n", " ")[:_MAX_MESSAGE]
                self._report(b"F" + message.encode())
                sys.exit(WORKER_BOOT_ERROR)
        self._report(b"R%d" % os.getpid())
        if not self._is_ready:
            # Serve only once the master has said READY=1 (it closes the pipe; EOF here).
            while worker.alive and not select.select([self._go_read], [], [], 0.5)[0]:
                worker.notify()
        serve = worker.run

        def serve_then_stop() -> None:
            # Shutdown hooks right after the serving loop ends, before gunicorn's
            # sys.exit(0): worker_exit would run them while that SystemExit unwinds.
            try:
                serve()
            finally:
                if not self.config.preload:
                    self.service.stop()
            if worker.nr_conns:
                # Requests outlived the graceful timeout: cut them (their threads would
                # hold the exit until the master's kill).
                logging.shutdown()
                os._exit(0)

        worker.run = serve_then_stop

    def _report(self, line: bytes) -> None:
        os.write(self._pipe[1], line + b"\n")
        with contextlib.suppress(OSError):
            os.kill(self._master, signal.SIGCHLD)  # wake the arbiter's loop (it just reaps)

    def _worker_int(self, worker: Any) -> None:
        worker.flaskd_quick = True  # SIGQUIT: a quick stop

    def _worker_exit(self, arbiter: Any, worker: Any) -> None:
        if os.getpid() == self._master:
            return  # gunicorn also calls it in the master for a worker already gone
        if not self.config.preload:
            self.service.stop()
        if getattr(worker, "flaskd_quick", False):
            # Exiting normally would wait for the request threads; a quick stop cuts them.
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)


class _Application(BaseApplication):  # type: ignore[misc]
    """gunicorn's application: flaskd's settings, flaskd's WSGI app."""

    def __init__(self, server: GunicornServer, fds: list[int]) -> None:
        self.server = server
        self.settings = server.gunicorn_settings(fds)
        super().__init__(prog="flaskd")

    def load_config(self) -> None:
        for key, value in self.settings.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.server.wsgi_app()


class _Arbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's master, with flaskd's readiness and stop signals."""

    def __init__(self, application: _Application, server: GunicornServer) -> None:
        self.flaskd = server
        self.stop_signalled = False
        self.halting = False
        super().__init__(application)

    def start(self) -> None:
        with _hidden("NOTIFY_SOCKET"):  # gunicorn's READY=1 comes before any worker booted
            super().start()

    def signal(self, sig: int, frame: Any) -> None:
        if sig in (signal.SIGTERM, signal.SIGINT):
            if self.stop_signalled:
                sig = signal.SIGQUIT  # a second stop signal: gunicorn's quick stop
            self.stop_signalled = True
        super().signal(sig, frame)

    def manage_workers(self) -> None:
        super().manage_workers()
        self.flaskd.check_ready(self.WORKERS, self.num_workers)
        if self.drain_until is not None and time.monotonic() >= self.drain_until:
            self.drain_until = None
            self.flaskd.drained()
            self._stop_accepting()

    def halt(self, reason: str | None = None, exit_status: int = 0) -> None:
        self.halting = True
        super().halt(reason, exit_status)

    def reap_workers(self) -> None:
        try:
            super().reap_workers()
        except HaltServer:
            # Every worker failed to boot: gunicorn raises again for the second one while
            # it halts for the first, and the exception would escape halt().
            if not self.halting:
                raise

    #: When a drain delay ends (time.monotonic()); None while no drain runs.
    drain_until: float | None = None

    def handle_term(self) -> None:
        self.flaskd.stopping()
        if self.flaskd.drain_delay:
            # Keep serving, readiness 503; manage_workers, which runs at least once a
            # second, stops once the delay is over.
            self.drain_until = time.monotonic() + self.flaskd.drain_delay
            return
        self._stop_accepting()

    def _stop_accepting(self) -> None:
        self.flaskd.close_listeners()
        raise StopIteration  # gunicorn's graceful stop

    def handle_int(self) -> None:
        self.handle_term()

    def handle_quit(self) -> None:
        if self.stop_signalled:
            self.flaskd.stopping_at_once()  # a second signal: the stop has begun already
        else:
            self.flaskd.stopping(at_once=True)
        super().handle_quit()

    def handle_usr2(self) -> None:
        self.log.warning("SIGUSR2 (re-exec) ignored: flaskd owns the sockets; restart instead")


@contextlib.contextmanager
def _hidden(name: str) -> Iterator[None]:
    value = os.environ.pop(name, None)
    try:
        yield
    finally:
        if value is not None:
            os.environ[name] = value
