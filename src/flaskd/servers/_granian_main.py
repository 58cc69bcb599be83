"""granian's main process, serving a socket flaskd opened: its workers and its signals.

`MainProcess` is granian's ``MPServer`` (worker processes; what ``granian.Granian`` is on
GIL builds) with flaskd's socket in place of one it would bind, workers forked whatever
Python's default start method, a worker watcher that does not race the main thread to reap,
and signal handlers that tell flaskd (`GranianServer`) when a stop begins, keep serving
through a drain delay, and never take a lock (see `MainProcess._wake`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Sequence
from functools import partial
from typing import Any, Protocol

from granian._granian import SocketHolder
from granian.server.mp import MPServer

from .._sockets import describe

log = logging.getLogger("flaskd")


class Flaskd(Protocol):
    """What the main process tells flaskd's side (`GranianServer`), and asks it."""

    is_ready: bool

    @property
    def drain_delay(self) -> float: ...

    def ready(self, where: Sequence[str]) -> None: ...

    def stopping(self, *, at_once: bool = False) -> None: ...

    def drained(self) -> None: ...

    def stopping_at_once(self) -> None: ...

    def quick_stop(self, workers: int) -> None: ...

    def start_reading(self) -> None: ...

    def wait_for_workers(self, count: int, interrupted: threading.Event) -> bool: ...

    def worker_exited(self, pid: int) -> bool: ...


#: The signals that only the main thread of the main process may take (see `main_thread_only`).
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP}


class MainProcess(MPServer):
    """granian serving a socket flaskd opened, and telling flaskd when a stop begins.

    ``MPServer`` (worker processes) is what ``granian.Granian`` is on GIL builds.
    """

    def __init__(self, *args: Any, flaskd: Flaskd, sock: socket.socket, **kw: Any) -> None:
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
        main_thread_only()
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

    def _wake(self) -> None:
        """Wake granian's main loop, from a signal handler (granian's flag set first).

        granian's own handlers set the main loop's `threading.Event` there, but a handler
        runs in the main thread, which holds that event's lock for a moment as it enters its
        wait: a signal then (Ctrl-C right as the server became ready) waited for the lock
        forever. The byte in the pipe has a thread set the event instead.
        """
        with contextlib.suppress(BlockingIOError):  # full: the thread has wakes to read
            os.write(self._wake_write, b"!")

    def _interrupt(self) -> None:
        """granian's graceful stop, as its own handler starts it, but by way of `_wake`."""
        self.interrupt_signal = True
        self._wake()

    def _wake_on_signal(self) -> None:
        main_thread_only()
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
        self.reload_signal = True
        self._wake()

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
        self._interrupt()

    #: Set to end a drain delay early; None while no drain runs.
    _drain: threading.Event | None = None

    def _drain_then_stop(self) -> None:
        main_thread_only()
        assert self._drain is not None
        if not self._drain.wait(self._flaskd.drain_delay):
            self._flaskd.drained()
            self._interrupt()

    def _end_drain(self) -> None:
        """Stop now if a drain delay is still running (a quick stop came first)."""
        if self._drain is not None and not self.interrupt_signal:
            self._drain.set()
            self._interrupt()

    def signal_handler_quit(self, *args: Any) -> None:
        if self.interrupt_signal or self._drain is not None:  # a stop has begun already
            self._flaskd.stopping_at_once()
            self._end_drain()
        else:
            self._flaskd.stopping(at_once=True)
            self._interrupt()
        self._flaskd.quick_stop(self.workers)


def _how_it_ended(status: os.waitid_result | None) -> str:
    if status is None:
        return "reaped"
    if status.si_code == os.CLD_EXITED:
        return f"exit code {status.si_status}"
    return f"killed by {signal.Signals(status.si_status).name}"


def main_thread_only() -> None:
    """Block the stop signals in the calling thread of the main process.

    The kernel may deliver a signal meant for the process to any thread that does not
    block it, and only the main thread runs Python's handlers: the main thread, asleep
    in granian's main loop, would never learn of a SIGTERM that landed elsewhere.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
