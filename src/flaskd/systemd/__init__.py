"""systemd units for a flaskd service: described, checked against this machine, rendered,
installed.

`make_units` writes a hardened ``NAME.service`` (and with ``socket=True`` a
``NAME.socket``) that runs ``python -m flaskd run TARGET`` with the interpreter
running this code. Before writing anything it checks what would stop the unit from
starting on this machine (a path the service's user cannot read, a port it cannot
bind, a credential file that does not exist) and raises `ConfigError` saying what
to change: it never returns a unit that cannot start. `install` and `uninstall` put
the files in place and drive ``systemctl``.
"""

from __future__ import annotations

from typing import Any

from .._deployment import Deployment, default_name, describe
from ._checks import check, paths_in_homes
from ._install import install, uninstall, unit_dir, verify, write
from ._render import HEADER, STOP_MARGIN, Units, quote, render

__all__ = [
    "HEADER",
    "STOP_MARGIN",
    "Units",
    "default_name",
    "install",
    "make_units",
    "quote",
    "uninstall",
    "unit_dir",
    "units_for",
    "verify",
    "write",
]


def make_units(target: str, **options: Any) -> Units:
    """Generate the units that serve ``target``; ``options`` are `describe`'s (the options
    of ``flaskd systemd``). Raises `ConfigError` for anything that would keep them from
    starting on this machine."""
    return units_for(describe(target, **options))


def units_for(deployment: Deployment) -> Units:
    """Check ``deployment`` against this machine, then render its units."""
    needed = check(deployment)
    return render(deployment, protect_home="read-only" if paths_in_homes(needed) else "yes")
