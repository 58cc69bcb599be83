"""flaskd as PID 1 of a container: a process there must reap what is orphaned to it.

A process whose parent exits is handed to PID 1; if PID 1 never waits for it, it stays
a zombie once it exits, and the container's process table fills up. A server cannot
simply reap every child it has (``waitpid(-1)``): it would take the exit status of the
app's own subprocesses from under them, and of gunicorn's and granian's workers. So,
like tini, PID 1 forks: the child serves, undisturbed; PID 1 passes it every signal
meant for the server and reaps everything else, then exits with the server's status.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

#: Signals PID 1 passes on to the server: the stops, and gunicorn's controls.
FORWARDED = tuple(
    getattr(signal, name)
    for name in (
        "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1",
        "SIGUSR2", "SIGTTIN", "SIGTTOU", "SIGWINCH",
    )
    if hasattr(signal, name)  # Windows has few of them, and no PID 1 to be
)  # fmt: skip


def reap_as_pid1() -> None:
    """If this process is PID 1, fork: return in the child, which goes on to serve, and in
    PID 1 pass signals to it and reap orphans until it exits, then exit as it did."""
    if os.getpid() != 1:
        return
    watched = {*FORWARDED, signal.SIGCHLD}
    # Blocked before the fork, so that no signal is lost between the fork and the loop.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    sys.stdout.flush()
    sys.stderr.flush()
    server = os.fork()
    if server == 0:
        # A process group of its own: a terminal's Ctrl-C reaches PID 1 only, which passes
        # it on once (twice would be a second signal, a stop at once).
        os.setpgid(0, 0)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        return
    sys.exit(_supervise(server, watched))


def _supervise(server: int, watched: set[signal.Signals]) -> int:
    while True:
        signum = signal.sigwait(watched)
        if signum != signal.SIGCHLD:
            with contextlib.suppress(ProcessLookupError):
                os.kill(server, signum)
            continue
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return 0
            if pid == 0:
                break
            if pid == server:
                return (
                    128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
                )
