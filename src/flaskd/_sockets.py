"""Listening sockets: parsing bind addresses, binding them, or taking systemd's.

flaskd binds the sockets itself and hands them to the backend, so that every
backend reports a bad or busy address the same way, serves IPv6 and unix
sockets the same way, and takes systemd's sockets (socket activation) the
same way.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import stat
from collections.abc import Sequence
from pathlib import Path

from ._errors import ConfigError
from ._sdnotify import listen_fds

BACKLOG = 2048


@dataclasses.dataclass(frozen=True)
class Address:
    """A place to listen: ``host``/``port`` for TCP, ``path`` for a unix socket."""

    text: str
    host: str = ""
    port: int = 0
    path: str = ""

    @property
    def is_unix(self) -> bool:
        return bool(self.path)


def parse_bind(text: str, where: str) -> Address:
    """Parse ``HOST:PORT``, ``[IPV6]:PORT`` or ``unix:/path`` (``unix:@name`` is abstract)."""
    if text.startswith("unix:"):
        path = text.removeprefix("unix:")
        if not path:
            raise ConfigError(f"{where}: invalid bind {text!r}: expected unix:/path/to/socket")
        return Address(text, path=path)
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        sep = ""  # an IPv6 address without brackets is ambiguous
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(
            f"{where}: invalid bind {text!r}: expected HOST:PORT, [IPV6]:PORT or unix:/path"
        )
    return Address(text, host=host, port=int(port))


def addresses(binds: Sequence[str], host: str, port: int, where: str) -> list[Address]:
    """The addresses to listen on: each ``--bind``, or else ``--host`` and ``--port``."""
    if binds:
        return [parse_bind(text, where) for text in binds]
    return [Address(f"{host}:{port}", host=host, port=port)]


def open_sockets(places: Sequence[Address], unix_mode: int) -> tuple[list[socket.socket], bool]:
    """Bind and listen on every address, or take the sockets systemd passed.

    Returns the sockets and whether systemd passed them (socket activation).
    Raises `ConfigError` naming the address that cannot be bound; sockets
    already opened are closed first.
    """
    activated = listen_fds()
    if activated:
        for sock in activated:
            _no_delay(sock)
        return activated, True
    opened: list[socket.socket] = []
    try:
        for place in places:
            opened += _bind_unix(place, unix_mode) if place.is_unix else _bind_tcp(place)
    except BaseException:
        for sock in opened:
            sock.close()
        raise
    return opened, False


def _bind_tcp(place: Address) -> list[socket.socket]:
    try:
        infos = socket.getaddrinfo(
            place.host, place.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as e:
        raise ConfigError(f"cannot listen on {place.text}: {e.strerror}") from None
    sockets: list[socket.socket] = []
    for family, kind, proto, _, sockaddr in dict.fromkeys(infos):
        sock = socket.socket(family, kind, proto)
        sockets.append(sock)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            _no_delay(sock)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(sockaddr)
            sock.listen(BACKLOG)
        except OSError as e:
            for s in sockets:
                s.close()
            raise ConfigError(f"cannot listen on {place.text}: {e.strerror or e}") from None
    return sockets


def _no_delay(sock: socket.socket) -> None:
    """Send small responses at once (no Nagle delay); accepted connections inherit it."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _bind_unix(place: Address, mode: int) -> list[socket.socket]:
    abstract = place.path.startswith("@")
    path = "\0" + place.path[1:] if abstract else place.path
    if not abstract:
        parent = Path(path).parent
        if not parent.is_dir():
            raise ConfigError(f"cannot listen on {place.text}: directory {str(parent)!r} not found")
        if Path(path).exists():
            if not stat.S_ISSOCK(Path(path).stat().st_mode):
                raise ConfigError(
                    f"cannot listen on {place.text}: a file that is not a socket is there"
                )
            _check_stale(place, path)
            Path(path).unlink()  # a stale socket left by a previous run
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        if not abstract:
            os.chmod(path, mode)
        sock.listen(BACKLOG)
    except OSError as e:
        sock.close()
        raise ConfigError(f"cannot listen on {place.text}: {e.strerror or e}") from None
    return [sock]


def _check_stale(place: Address, path: str) -> None:
    """Raise `ConfigError` unless the unix socket at ``path`` is left from a server that is
    gone (connecting is refused), so that removing it takes nothing from anyone."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except ConnectionRefusedError:
            return
        except OSError as e:
            raise ConfigError(f"cannot listen on {place.text}: {e.strerror or e}") from None
    raise ConfigError(f"cannot listen on {place.text}: another server is listening there")


def describe(sock: socket.socket) -> str:
    """``http://127.0.0.1:5000``, ``http://[::1]:5000`` or ``unix:/run/app.sock``."""
    name = sock.getsockname()
    if sock.family == socket.AF_UNIX:
        text = name.decode() if isinstance(name, bytes) else name
        return "unix:" + (text.replace("\0", "@", 1) if text.startswith("\0") else text)
    host, port = name[0], name[1]
    return f"http://[{host}]:{port}" if sock.family == socket.AF_INET6 else f"http://{host}:{port}"


def socket_files(sockets: Sequence[socket.socket]) -> list[Path]:
    """The files of the unix sockets among ``sockets`` (abstract ones have none)."""
    names = [s.getsockname() for s in sockets if s.family == socket.AF_UNIX]
    return [Path(n) for n in names if isinstance(n, str) and n and not n.startswith("\0")]
