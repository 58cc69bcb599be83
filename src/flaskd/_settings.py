"""Serving settings, each declared once.

A serving setting belongs to the runner, not to the app: the address, the
number of threads, the server backend. Each is declared here once, and from
that declaration come its command-line flag (``--port``), its env var
(``FLASKD_PORT``), its key in the config file's ``[serve]`` table (``port``)
and its row in the documentation table (`markdown_table`).
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from ._fields import Field, described
from .servers import SERVERS

ENV_PREFIX = "FLASKD_"

F = TypeVar("F", bound=Callable[..., Any])


@described("a port number from 0 to 65535")
def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError(text)
    return value


@described("a whole number of at least 1")
def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class FileMode(int):
    """A file mode, shown in octal."""

    def __repr__(self) -> str:
        return f"0o{self:o}"


@described("an octal file mode such as 660")
def _octal(text: str) -> int:
    value = int(text, 8)
    if not 0 <= value <= 0o777:
        raise ValueError(text)
    return FileMode(value)


@described(
    "an IP address or network (127.0.0.1, 10.0.0.0/8, ::1), or unix (peers on a unix socket)"
)
def _network(text: str) -> str:
    if text != "unix":
        ipaddress.ip_network(text, strict=False)
    return text


@described("a URL path such as /readyz")
def _path(text: str) -> str:
    if not text.startswith("/") or any(c in text for c in " ?#") or not text.isprintable():
        raise ValueError(text)
    return text


@described("a size in bytes, or with k, m or g (10m)")
def _size(text: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    text = text.strip().lower().removesuffix("b")
    factor = units.get(text[-1:], 1)
    value = int(text[:-1] if factor > 1 else text) * factor
    if value < 1:
        raise ValueError(text)
    return value


@described("a finite number of seconds (0 or more)")
def _seconds(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):  # float() also takes "inf" and "nan"
        raise ValueError(text)
    return value


@described("a finite number of seconds above 0")
def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value == 0:
        raise ValueError(text)
    return value


@dataclasses.dataclass(frozen=True)
class Setting:
    """One serving setting: its name, field, flag and env var."""

    name: str
    field: Field
    metavar: str
    #: The default as the docs show it.
    default_text: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def negative_flag(self) -> str:
        """``--no-access-log`` for a switch."""
        return "--no-" + self.flag.removeprefix("--")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def help_text(self, default: Any = None) -> str:
        """The help ``--help`` shows, with the env var and the default (``default`` if given:
        an app's own serve default)."""
        if default is None:
            shown = self.default_text
        elif isinstance(default, bool):
            shown = "on" if default else "off"
        elif isinstance(default, tuple | list):
            shown = " ".join(map(str, default)) or "none"
        else:
            shown = str(default)
        return f"{self.field.help} [env {self.env}; default {shown}]"

    def click_option(self, *, hidden: bool = False) -> Callable[[F], F]:
        """This setting as a click option (``flaskd run``'s), passing its value as ``name``,
        None where not given. The choices go in the metavar, not in a ``click.Choice``:
        flaskd checks them itself, with the same one-line error as from an env var."""
        shown: dict[str, Any] = {"help": self.help_text(), "hidden": hidden}
        if self.field.shape == "bool":
            return click.option(
                f"{self.flag}/{self.negative_flag}", self.name, default=None, **shown
            )
        choices = self.field.choices
        metavar = f"[{'|'.join(choices)}]" if choices else self.metavar
        multiple = self.field.shape == "list"
        return click.option(self.flag, self.name, metavar=metavar, multiple=multiple, **shown)

    def add_argument(self, group: Any, dest: str, default: Any = None) -> None:
        """Add this setting to an argparse parser or group (a script's), as ``dest``;
        ``default`` is the app's own serve default for the help text."""
        help = self.help_text(default).replace("%", "%%")
        if self.field.shape == "bool":
            group.add_argument(
                self.flag, dest=dest, action=argparse.BooleanOptionalAction, help=help
            )
            return
        # argparse's way of showing choices: {a,b} (click's [a|b] reads as optional here).
        choices = self.field.choices
        metavar = "{" + ",".join(choices) + "}" if choices else self.metavar
        action = "append" if self.field.shape == "list" else "store"
        group.add_argument(self.flag, dest=dest, metavar=metavar, action=action, help=help)

    def named(self, name: str) -> Setting:
        """This declaration, given the name of the `Serve` field it declares."""
        field = dataclasses.replace(self.field, key=name, flag="--" + name.replace("_", "-"))
        return dataclasses.replace(
            self, name=name, field=field, metavar=self.metavar or name.upper()
        )

    def args(self, value: Any) -> list[str]:
        """The command-line arguments that give this setting ``value``."""
        if isinstance(value, bool):
            return [self.flag if value else self.negative_flag]
        if isinstance(value, tuple | list):
            return [arg for item in value for arg in (self.flag, str(item))]
        return [self.flag, str(value)]


def _setting(
    convert: Callable[[str], Any],
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    metavar: str | None = None,
    shape: str = "value",
    default_text: str | None = None,
) -> Any:
    """A field of `Serve` declaring one setting; its name comes from the field's."""
    if default_text is None:
        default_text = {"bool": "off", "list": "none"}.get(shape, str(default))
    field = Field("", convert=convert, default=default, choices=choices, shape=shape, help=help)
    setting = Setting("", field, metavar or "", default_text)
    return dataclasses.field(default=default, metadata={"setting": setting})


@dataclasses.dataclass(frozen=True)
class Serve:
    """The serving settings, each declared here once and typed: what the backends read.

    Each field's metadata is its `Setting` (flag, env var, ``[serve]`` key, help);
    ``sources`` says where each value came from (`source`).
    """

    host: str = _setting(
        str, "127.0.0.1", "Interface to listen on; loopback unless told otherwise."
    )
    port: int = _setting(_port, 5000, "TCP port to listen on.")
    bind: tuple[str, ...] = _setting(
        str,
        (),
        "Listen here instead of --host/--port; repeatable. HOST:PORT, [IPV6]:PORT or unix:/path.",
        metavar="ADDRESS",
        shape="list",
    )
    unix_socket_mode: int = _setting(
        _octal,
        FileMode(0o660),
        "File mode of unix sockets flaskd creates.",
        metavar="MODE",
        default_text="660",
    )
    threads: int = _setting(_positive, 4, "Threads serving requests in each process.")
    workers: int = _setting(
        _positive, 1, "Processes serving requests (gunicorn, granian; waitress serves from one)."
    )
    preload: bool = _setting(
        str,
        False,
        "Run the start-up hooks once before forking workers, instead of in each worker.",
        shape="bool",
    )
    forwarded_allow_ips: tuple[str, ...] = _setting(
        _network,
        (),
        "Proxies whose X-Forwarded-For/Proto/Host headers are trusted; repeatable;"
        " `unix` trusts every peer on a unix socket. From any other peer those headers"
        " are removed.",
        metavar="NETWORK",
        shape="list",
    )
    ready_path: str | None = _setting(
        _path,
        None,
        "Answer GET PATH with 200 once every process of the server ran its start-up hooks,"
        " 503 and why (starting, stopping) otherwise: a readiness probe. Off unless given.",
        metavar="PATH",
        default_text="none",
    )
    live_path: str | None = _setting(
        _path,
        None,
        "Answer GET PATH with 200 while the process can answer at all, draining too:"
        " a liveness probe. Off unless given.",
        metavar="PATH",
        default_text="none",
    )
    access_log: bool = _setting(
        str, False, "Log one line per request, in the same format on every backend.", shape="bool"
    )
    max_request_body: int = _setting(
        _size,
        100 * 1024**2,
        "Largest request body accepted; larger ones get 413.",
        metavar="BYTES",
        default_text="100m",
    )
    max_connections: int = _setting(
        _positive, 1000, "Open connections each process accepts at once.", metavar="N"
    )
    max_request_line: int = _setting(
        _positive,
        8190,
        "Longest request line (method, path and query, protocol) in bytes; longer gets 414.",
        metavar="BYTES",
    )
    max_header_fields: int = _setting(
        _positive, 100, "Most header fields in one request; more gets 431.", metavar="N"
    )
    max_header_size: int = _setting(
        _positive,
        8190,
        "Largest single header field (name and value) in bytes; larger gets 431.",
        metavar="BYTES",
    )
    idle_timeout: float = _setting(
        _seconds,
        30.0,
        "Seconds a connection may stay open without a request: a new connection that"
        " sends nothing, or an idle keep-alive one. 0 closes each connection after"
        " its response.",
        metavar="SECONDS",
    )
    header_timeout: float = _setting(
        _positive_seconds,
        10.0,
        "Seconds a client has, from a request's first byte, to send its request line and"
        " headers; a slower client is disconnected (nginx's client_header_timeout).",
        metavar="SECONDS",
    )
    body_timeout: float = _setting(
        _positive_seconds,
        30.0,
        "Seconds a request body may go without a byte arriving before the request is"
        " dropped (nginx's client_body_timeout).",
        metavar="SECONDS",
    )
    drain_delay: float = _setting(
        _seconds,
        0.0,
        "Seconds a stop keeps serving after readiness turns 503, so that a load balancer"
        " stops sending traffic first; then the graceful stop. 0: none.",
        metavar="SECONDS",
    )
    graceful_timeout: float = _setting(
        _seconds,
        30.0,
        "Seconds a stop waits for requests in flight before cutting them (the shutdown"
        " hooks still run). 0 cuts them at once.",
        metavar="SECONDS",
    )
    http2: bool = _setting(
        str,
        False,
        "Also speak cleartext HTTP/2 (granian only). The size limits apply to it; the"
        " header and idle time limits do not (see Production serving).",
        shape="bool",
    )
    server: str = _setting(
        str, "waitress", "Server backend.", choices=tuple(SERVERS), metavar="NAME"
    )
    log_level: str = _setting(
        str.lower,
        "info",
        "Level of flaskd's and the server's log lines (not the app's).",
        choices=("debug", "info", "warning", "error"),
        metavar="LEVEL",
    )
    log_format: str = _setting(
        str.lower,
        "text",
        "How flaskd, the server and the access log write each line: text (with the time,"
        " unless stderr is the journal), or one JSON object.",
        choices=("text", "json"),
        metavar="FORMAT",
    )
    log_config: str | None = _setting(
        str,
        None,
        "A logging.config.dictConfig file, JSON or TOML, for full control of logging:"
        " --log-level and --log-format then do nothing.",
        metavar="FILE",
        default_text="none",
    )
    request_id: bool = _setting(
        str,
        True,
        "Give each request an ID: a trusted proxy's X-Request-ID, or a new one; in the"
        " environ (flaskd.request_id), the access log and the response's X-Request-ID.",
        shape="bool",
        default_text="on",
    )
    #: Setting name -> where its value came from ("flag --port", "env FLASKD_PORT"...).
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def source(self, name: str) -> str:
        """Where setting ``name``'s value came from."""
        return self.sources.get(name, "default")


#: Setting name -> its declaration, in the order of `Serve`'s fields.
SETTINGS: dict[str, Setting] = {
    f.name: f.metadata["setting"].named(f.name)
    for f in dataclasses.fields(Serve)
    if "setting" in f.metadata
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
        flag = s.flag if s.field.shape == "bool" else f"{s.flag} {s.metavar}"
        rows.append(f"| `{flag}` | `{s.env}` | `{s.name}` | `{s.default_text}` | {meaning} |")
    return "\n".join(rows)
