"""Putting units where systemd looks, and taking them away, with ``systemctl``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .._deployment import check_name
from .._errors import ConfigError
from ._render import HEADER, Units


def unit_dir(user_scope: bool) -> Path:
    """Where units of this scope go: /etc/systemd/system, or ~/.config/systemd/user."""
    if not user_scope:
        return Path("/etc/systemd/system")
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(config, "systemd", "user")


def write(units: Units, directory: Path) -> list[Path]:
    """Write the unit files into ``directory``; refuse to replace a file flaskd did not write."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in units.files().items():
        path = directory / file_name
        if path.exists() and not path.read_text().startswith(HEADER):
            raise ConfigError(
                f"{path} exists and was not written by flaskd: remove it or choose another --name"
            )
        path.write_text(text)
        written.append(path)
    return written


def verify(units: Units) -> None:
    """Run ``systemd-analyze verify`` on the units; raise `ConfigError` with what it reports."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        paths = write(units, Path(tmp))
        scope = ["--user"] if units.user_scope else []
        done = subprocess.run(
            [analyze, "verify", *scope, *map(str, paths)],
            capture_output=True,
            text=True,
            check=False,
        )
    report = (done.stdout + done.stderr).strip()
    if done.returncode != 0 or report:
        raise ConfigError(
            f"systemd-analyze verify rejects the unit: {' / '.join(report.splitlines())}"
        )


def install(units: Units) -> list[str]:
    """Verify, write the units where systemd looks, reload, then enable and start them.

    Returns what was done, one line each. Raises `ConfigError` when a step fails.
    """
    if not units.user_scope and os.geteuid() != 0:
        raise ConfigError(
            f"--install: a system unit goes in {unit_dir(False)}, which needs root: run this"
            f" same command with sudo ({sys.executable} -m flaskd systemd ...), or add --user"
        )
    _require_systemd("--install")
    verify(units)
    written = write(units, unit_dir(units.user_scope))
    done = [f"wrote {p}" for p in written]
    _systemctl(units.user_scope, "daemon-reload")
    _systemctl(units.user_scope, "enable", "--now", units.main_unit)
    done.append(f"enabled and started {units.main_unit}")
    return done


def uninstall(name: str, *, user_scope: bool = False) -> list[str]:
    """Stop and disable the units named ``name``, remove their files and reload systemd.

    The state directory is kept. Returns what was done, one line each.
    """
    name = check_name(name)
    _require_systemd("--uninstall")
    directory = unit_dir(user_scope)
    present = [directory / f"{name}.{kind}" for kind in ("socket", "service")]
    present = [p for p in present if p.exists()]
    if not present:
        raise ConfigError(f"--uninstall: no unit {name}.service in {directory}")
    for path in present:
        if not path.read_text().startswith(HEADER):
            raise ConfigError(f"--uninstall: {path} was not written by flaskd; remove it yourself")
    _systemctl(user_scope, "disable", "--now", *(p.name for p in present))
    done = []
    for path in present:
        path.unlink()
        done.append(f"removed {path}")
    _systemctl(user_scope, "daemon-reload")
    where = "in ~" if user_scope else f"/var/lib/{name}"
    done.append(f"kept the state directory ({where})")
    return done


def _require_systemd(what: str) -> None:
    """Raise `ConfigError` before anything is written when systemd does not run this machine."""
    if not Path("/run/systemd/system").is_dir():
        raise ConfigError(
            f"{what}: systemd is not running on this machine (PID 1 is not systemd): write"
            " the units with --output DIR and install them where systemd runs"
        )


def _systemctl(user_scope: bool, *args: str) -> None:
    command = ["systemctl", *(["--user"] if user_scope else []), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        message = " / ".join((done.stderr or done.stdout).strip().splitlines())
        raise ConfigError(f"{' '.join(command)} failed: {message}")
