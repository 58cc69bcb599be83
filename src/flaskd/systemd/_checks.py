"""What would keep a unit from starting on this machine, said before it is written.

The service runs with no capabilities, as a user of its own (or the one given), in
a file system where /tmp is its own and homes are hidden or read-only: it must be
able to enter and read every path it needs, bind every address, and be reached.
"""

from __future__ import annotations

import dataclasses
import grp
import importlib
import ipaddress
import os
import pwd
import stat
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import flask

from .._deployment import Deployment, Identity, app_keys
from .._errors import ConfigError

#: Directories hidden by ``ProtectHome=yes`` and by ``PrivateTmp=yes``.
HOMES = ("/home", "/root", "/run/user")
TMPS = ("/tmp", "/var/tmp")

R, X = 4, 1  # permission bits, as in the "other" triplet of a mode


@dataclasses.dataclass(frozen=True)
class _Who:
    """Who the service runs as, for the permission checks: uid None is a dynamic user."""

    what: str
    uid: int | None
    gids: frozenset[int]


def check(deployment: Deployment) -> list[str]:
    """Raise `ConfigError` for what would keep the unit from starting here; return the paths
    the service needs (its interpreter, packages, app, config and secret files)."""
    _check_places(deployment)
    needed = _needed_paths(deployment)
    for where in TMPS:
        for p in needed:
            if under(p, where) and p != where:  # name the file, not "/tmp is under /tmp"
                raise ConfigError(
                    f"{p} is under {where}, which PrivateTmp= hides from the service:"
                    " move the app and its venv to /opt or /srv"
                )
    _check_readable(needed, _who(deployment.identity), _secret_fixes(deployment))
    return needed


def under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_places(d: Deployment) -> None:
    lowest = _unprivileged_port_start()
    user_scope = d.identity.user_scope
    for place in d.places:
        if place.is_unix:
            if place.path.startswith("@"):
                continue
            if not d.socket and (user_scope or Path(place.path).parent != Path("/run", d.name)):
                raise ConfigError(
                    f"bind {place.text!r}: the service may create sockets only in"
                    f" /run/{d.name}/ (its RuntimeDirectory=); use that directory, or --socket"
                    " (systemd creates the socket)"
                )
        elif 0 < place.port < lowest and (user_scope or not d.socket):
            fix = (
                "a user manager cannot listen there either: generate a system unit with --socket"
                if user_scope
                else "add --socket: systemd listens and hands the socket over, no capability needed"
            )
            raise ConfigError(
                f"port {place.port} is below {lowest}, which an unprivileged service cannot"
                f" bind: {fix}"
            )
        elif d.socket and not is_ip(place.host):
            raise ConfigError(
                f"--socket: systemd listens on IP addresses only, not {place.host!r}:"
                " give --host 127.0.0.1, ::1 or 0.0.0.0"
            )
        elif d.private_network and not d.socket:
            raise ConfigError(
                f"--private-network: nothing outside the service could reach {place.text};"
                " add --socket (systemd listens outside the service's network namespace)"
            )


def _unprivileged_port_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        return 1024


def _who(identity: Identity) -> _Who:
    if identity.user_scope:
        return _Who(
            f"you ({pwd.getpwuid(os.getuid()).pw_name})",
            os.getuid(),
            frozenset([os.getgid(), *os.getgroups()]),
        )
    gid = None
    if identity.group is not None:
        try:
            gid = grp.getgrnam(identity.group).gr_gid
        except KeyError:
            raise ConfigError(
                f"--group {identity.group!r}: no such group on this machine"
            ) from None
    user = identity.user
    if user is None:
        # Its groups: Group=, or else a group of its own, which owns nothing here.
        gids = frozenset() if gid is None else frozenset([gid])
        return _Who("a dynamic user (DynamicUser=yes)", None, gids)
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ConfigError(
            f"--service-user {user!r}: no such user on this machine; create it"
            " (adduser --system) or leave --service-user out for a dynamic user"
        ) from None
    gid = entry.pw_gid if gid is None else gid
    # systemd calls initgroups(User=, Group= or else the user's group): that group and those
    # /etc/group lists the user in (so not the user's own group when Group= is another),
    # and for group 0 none but it.
    groups = [gid] if gid == 0 else os.getgrouplist(user, gid)
    return _Who(f"user {user}", entry.pw_uid, frozenset(groups))


def _needed_paths(d: Deployment) -> list[str]:
    """Paths the service must reach: interpreter, its venv, stdlib, flaskd, Flask, the
    backend's server, the app, its config file and secret files (absolute)."""
    flaskd_dir = os.path.dirname(os.path.dirname(__file__))
    paths = [d.python, d.workdir, os.path.dirname(os.__file__)]
    paths += [os.path.dirname(flaskd_dir), flaskd_dir]
    paths.append(os.path.dirname(flask.__file__))
    server_file = importlib.import_module(d.backend.package).__file__
    if server_file:
        paths.append(os.path.dirname(server_file))
    cfg = Path(d.python).parent.parent / "pyvenv.cfg"
    if cfg.is_file():
        paths.append(str(cfg))
    module = sys.modules.get(d.service.app.import_name)
    if module is not None and getattr(module, "__file__", None):
        paths.append(str(module.__file__))
    if d.resolved.config_file:
        paths.append(d.resolved.config_file)
    paths += d.secret_files.values()
    # The kernel walks the real paths: check those too (a pyenv venv's python is a symlink).
    return list(dict.fromkeys([*paths, *(os.path.realpath(p) for p in paths)]))


def _check_readable(
    paths: Iterable[str], who: _Who, secrets: Mapping[str, tuple[str, str]]
) -> None:
    """Raise `ConfigError` naming the first path ``who`` cannot reach, and what to change.

    The service has no capabilities (empty CapabilityBoundingSet=), so even
    root gets only what the mode bits give it. ``secrets`` maps a secret file to where it
    was named and what to change instead of making it readable by all.
    """
    for path in paths:
        parts = Path(path).parts
        for i in range(1, len(parts) + 1):
            current = Path(*parts[:i])
            try:
                st = current.stat()
            except OSError:
                continue  # a path that does not exist is someone else's error
            is_last = i == len(parts)
            need = X if not is_last else (R | X if stat.S_ISDIR(st.st_mode) else R)
            if _allowed(st, who) & need != need:
                if path in secrets:
                    where, fix = secrets[path]
                    raise ConfigError(f"{where}: {_denied_message(current, st, need, who, fix)}")
                raise ConfigError(_denied_message(current, st, need, who))


def _allowed(st: os.stat_result, who: _Who) -> int:
    mode = st.st_mode
    if who.uid is not None and st.st_uid == who.uid:
        return (mode >> 6) & 7
    if st.st_gid in who.gids:
        return (mode >> 3) & 7
    return mode & 7


def _denied_message(
    path: Path, st: os.stat_result, need: int, who: _Who, fix: str | None = None
) -> str:
    verb = "enter" if need == X else "read"
    owner = _owner(st.st_uid)
    where = f"{path} (mode {stat.S_IMODE(st.st_mode):04o}, owner {owner})"
    if fix is None:
        bit = "x" if need == X else ("rx" if need == R | X else "r")
        if who.uid is None:
            other = f"move the app and its venv to /opt or /srv, or pass --service-user {owner}"
        else:
            other = "or choose another --service-user"
        fix = f"chmod o+{bit} {path}, {other}"
    return f"the service runs as {who.what}, who cannot {verb} {where}: {fix}"


def _secret_fixes(d: Deployment) -> dict[str, tuple[str, str]]:
    """For each secret file the env file names (and its real path): where it was named, and
    what to change if the service cannot read it (not o+r: it is a secret)."""
    known = app_keys(d.service)
    fixes = {}
    for var, path in d.secret_files.items():
        key = var.removeprefix(d.service.env_prefix).removesuffix("_FILE")
        credential = (
            f"pass --credential {key.lower()}={path} instead (systemd reads it as root), or "
            if key in known
            else ""
        )
        fix = f"{credential}let a group the service has (--group) reach it"
        for p in (path, os.path.realpath(path)):
            fixes[p] = (d.source(var), fix)
    return fixes


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def paths_in_homes(paths: Sequence[str]) -> bool:
    """Whether any of ``paths`` is in a directory ``ProtectHome=yes`` would hide."""
    return any(under(p, h) for p in paths for h in HOMES)
