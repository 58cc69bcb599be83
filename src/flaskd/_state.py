"""Whether this process can take traffic: what the readiness endpoint answers.

A server is ready once every one of its processes has run its start-up hooks (or,
with ``--preload``, its main process has, before forking them): its main process
knows, as it tells systemd READY=1 then. Until then a worker that already serves
answers readiness with ``starting``, so that a load balancer waits for the whole
server. A stop begins in the main process (SIGTERM), and every worker must see it
at once, before the main process tells it anything. Both flags live in memory
shared with the processes forked after it was made.
"""

from __future__ import annotations

import mmap

STARTING, READY, STOPPING = "starting", "ready", "stopping"
_SERVING, _STOPPING = 0, 1  # the shared bytes


class ProcessState:
    """This process's start-up, and the server's readiness and stop, shared with every
    process forked from it."""

    def __init__(self) -> None:
        self.started = False
        self._shared = mmap.mmap(-1, 2)  # anonymous and shared: forks see the same bytes

    def serving(self) -> None:
        """Every process of the server ran its start-up hooks: readiness may answer 200."""
        self._shared[_SERVING] = 1

    def stopping(self) -> None:
        """A stop has begun: every process of this server answers readiness with 503."""
        self._shared[_STOPPING] = 1

    @property
    def phase(self) -> str:
        if self._shared[_STOPPING]:
            return STOPPING
        return READY if self.started and self._shared[_SERVING] else STARTING


#: The state of this process (and the stop of the server it belongs to).
state = ProcessState()
