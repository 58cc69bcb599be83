"""systemd's protocols, spoken directly: readiness (sd_notify), watchdog, socket activation."""

from __future__ import annotations

import logging
import os
import socket
import threading

log = logging.getLogger("flaskd")

SD_LISTEN_FDS_START = 3


def notify(*fields: str) -> bool:
    """Send ``fields`` (``"READY=1"``, ``"STATUS=..."``) to ``$NOTIFY_SOCKET``, if systemd set it.

    An address starting with ``@`` is an abstract socket. Returns whether a
    message was sent.
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.sendto("\n".join(fields).encode(), address)
        except OSError as e:
            log.warning("cannot notify systemd at %s: %s", address.replace("\0", "@"), e)
            return False
    return True


def listen_fds() -> list[socket.socket]:
    """The sockets systemd passed to this process (``LISTEN_FDS``, from fd 3), or none.

    The variables are removed from the environment so that child processes do
    not take the sockets for theirs.
    """
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return []
    count = int(os.environ.get("LISTEN_FDS", "0"))
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)
    sockets = []
    for fd in range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + count):
        os.set_inheritable(fd, False)
        sockets.append(socket.socket(fileno=fd))
    return sockets


def start_watchdog() -> threading.Event | None:
    """Send ``WATCHDOG=1`` at half the interval systemd asks for, from a daemon thread.

    Returns an event that stops the keep-alives, or None when no watchdog is set.
    """
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    interval = int(usec) / 2_000_000
    stop = threading.Event()

    def keep_alive() -> None:
        while not stop.wait(interval):
            notify("WATCHDOG=1")

    threading.Thread(target=keep_alive, name="flaskd-watchdog", daemon=True).start()
    return stop
