"""Whether this process can take traffic: what the readiness endpoint answers.

A process is ready once it has run its start-up hooks (or, with ``--preload``,
its main process has, before forking it) and no stop has begun. A stop begins in
the main process (SIGTERM), and every worker must see it at once, before the main
process tells it anything: the flag lives in memory shared with the processes
forked after it was made.
"""

from __future__ import annotations

import mmap

STARTING, READY, STOPPING = "starting", "ready", "stopping"


class ProcessState:
    """This process's start-up, and the stop shared with every process forked from it."""

    def __init__(self) -> None:
        self.started = False
        self._stop = mmap.mmap(-1, 1)  # anonymous and shared: forks see the same byte

    def stopping(self) -> None:
        """A stop has begun: every process of this server answers readiness with 503."""
        self._stop[0] = 1

    @property
    def phase(self) -> str:
        if self._stop[0]:
            return STOPPING
        return READY if self.started else STARTING


#: The state of this process (and the stop of the server it belongs to).
state = ProcessState()
