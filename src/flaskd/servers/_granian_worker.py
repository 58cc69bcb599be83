"""How a granian worker process stops: gracefully, at the graceful timeout, or at once.

Python runs signal handlers in the main thread only, and the kernel may deliver
a signal meant for the process to any of its threads. A granian worker's main
thread sleeps in ``threading.Event.wait()`` while Rust threads serve: a SIGTERM
that lands on a Rust thread is recorded but never handled, and the worker
never stops (granian then kills it, its shutdown hooks unrun). And granian's
stop signal (``WorkerSignal.set()``) blocks forever, holding the GIL, when it
is set twice before its Rust thread took the first. So here:

* SIGTERM has a Python handler that does nothing but let Python's C-level
  handler write the signal's number to a wakeup pipe (``signal.set_wakeup_fd``),
  whichever thread it lands on. A thread of flaskd's reads that pipe and sets
  granian's stop signal, once.
* SIGINT and SIGQUIT are ignored: Ctrl-C and a SIGQUIT to the process group
  reach the main process too, which stops the workers itself.
* The same thread gives the requests in flight ``graceful_timeout`` seconds;
  then it runs the shutdown hooks and ends the process, cutting them. It does
  the same on a byte on the quick-stop pipe (the main process's quick stop),
  or at its end of file (the main process is gone).
"""

from __future__ import annotations

import logging
import os
import select
import signal
import threading
import time
from collections.abc import Callable

from granian._granian import WorkerSignal

log = logging.getLogger("flaskd")


class WorkerStop:
    """A worker's stop: made at the start of granian's target loader, in the worker's main thread.

    ``stop_service`` runs the shutdown hooks (or nothing, with ``--preload``);
    ``quick_read`` is the read end of the main process's quick-stop pipe.
    """

    def __init__(
        self, stop_service: Callable[[], None], graceful_timeout: float, quick_read: int
    ) -> None:
        self._stop_service = stop_service
        self._graceful_timeout = graceful_timeout
        self._quick_read = quick_read
        self._lock = threading.Lock()
        self._event: WorkerSignal | None = None
        self._requested = False
        self._fired = False
        #: Set as the worker's stop begins.
        self.stopping = threading.Event()
        self._wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        signal.signal(signal.SIGTERM, _recorded_only)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGQUIT, signal.SIG_IGN)
        signal.set_wakeup_fd(wake_write, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="flaskd-stop", daemon=True).start()

    def granian_signal(self) -> WorkerSignal:
        """In place of granian's ``set_sync_signals``: its stop signal, set by this class only."""
        event = WorkerSignal()
        with self._lock:
            self._event = event
            self._fire()
        return event

    def _fire(self) -> None:
        # Under the lock. granian's signal must be set exactly once (a second set can block).
        if self._requested and self._event is not None and not self._fired:
            self._fired = True
            self._event.set()

    def _watch(self) -> None:
        deadline: float | None = None
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = select.select([self._wake_read, self._quick_read], [], [], timeout)[0]
            if self._quick_read in ready:
                if not os.read(self._quick_read, 1):
                    log.warning("worker %s: the main process is gone; stopping", os.getpid())
                break
            if self._wake_read in ready:
                if signal.SIGTERM in os.read(self._wake_read, 512) and deadline is None:
                    deadline = time.monotonic() + self._graceful_timeout
                    self.stopping.set()
                    with self._lock:
                        self._requested = True
                        self._fire()
            elif deadline is not None and time.monotonic() >= deadline:
                if self._graceful_timeout > 0:
                    log.warning(
                        "worker %s: requests still running at the graceful timeout; cutting them",
                        os.getpid(),
                    )
                break
        # Waits for the shutdown hooks if the main thread is already running them.
        self._stop_service()
        logging.shutdown()
        os._exit(0)


def _recorded_only(signum: int, frame: object) -> None:
    """SIGTERM's Python handler: the wakeup pipe, written before this runs, is what counts."""
