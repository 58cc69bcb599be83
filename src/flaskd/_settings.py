"""Serving settings, each declared once.

A serving setting belongs to the runner, not to the app: the address, the
number of threads, the server backend. Each is declared here once, and from
that declaration come its command-line flag (``--port``), its env var
(``FLASKD_PORT``), its key in the config file's ``[serve]`` table (``port``)
and its row in the documentation table (`markdown_table`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ._fields import Field
from .servers import SERVERS

ENV_PREFIX = "FLASKD_"


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError(text)
    return value


_port.description = "a port number from 0 to 65535"  # type: ignore[attr-defined]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


_positive.description = "a whole number of at least 1"  # type: ignore[attr-defined]


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise ValueError(text)
    return value


_seconds.description = "a number of seconds (0 or more)"  # type: ignore[attr-defined]


@dataclasses.dataclass(frozen=True)
class Setting:
    """One serving setting: its name, field, flag and env var."""

    name: str
    field: Field
    metavar: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


def _setting(
    name: str,
    convert: Callable[[str], Any],
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    metavar: str | None = None,
) -> Setting:
    field = Field(
        name,
        convert=convert,
        default=default,
        choices=choices,
        flag="--" + name.replace("_", "-"),
        help=help,
    )
    return Setting(name, field, metavar or name.upper())


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        _setting(
            "host", str, "127.0.0.1", "Interface to listen on; loopback unless told otherwise."
        ),
        _setting("port", _port, 5000, "TCP port to listen on."),
        _setting("threads", _positive, 4, "Threads serving requests in each process."),
        _setting(
            "graceful_timeout",
            _seconds,
            30.0,
            "Seconds a stop waits for requests in flight before cutting them.",
            metavar="SECONDS",
        ),
        _setting(
            "server",
            str,
            "waitress",
            "Server backend.",
            choices=tuple(SERVERS),
            metavar="NAME",
        ),
        _setting(
            "log_level",
            str.lower,
            "info",
            "Level of flaskd's own log lines.",
            choices=("debug", "info", "warning", "error"),
            metavar="LEVEL",
        ),
    )
}


def markdown_table() -> str:
    """Render the serving settings as the Markdown table the README shows."""
    rows = [
        "| flag | env var | `[serve]` key | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS.values():
        meaning = s.field.help
        if s.field.choices:
            meaning += " One of: " + ", ".join(f"`{c}`" for c in s.field.choices) + "."
        rows.append(
            f"| `{s.flag} {s.metavar}` | `{s.env}` | `{s.name}` | `{s.field.default}` | {meaning} |"
        )
    return "\n".join(rows)
