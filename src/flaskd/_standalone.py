"""The command line of an app run as a script: its own options plus the serving options."""

from __future__ import annotations

import argparse
import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._config import Sources
from ._envfile import HELP as ENV_FILE_HELP
from ._envfile import load_env_files
from ._settings import SETTINGS

if TYPE_CHECKING:
    from ._protocols import Configurable

_SERVE = "flaskd_serve_"


def build_parser(service: Configurable) -> argparse.ArgumentParser:
    """The app's parser with the serving options added: what ``--help`` shows."""
    base = service.parser or argparse.ArgumentParser()
    parser = copy.deepcopy(base)
    taken = set(parser._option_string_actions)
    for option in service.schema.options.values():
        argument = next(a for a in parser._actions if a.dest == option.dest)
        if argument.help != argparse.SUPPRESS:
            env = f"[env {service.env_prefix}{option.field.key}]"
            argument.help = f"{argument.help} {env}" if argument.help else env
    group = parser.add_argument_group("serving options (flaskd)")
    for name, s in SETTINGS.items():
        if name in service.schema.address or s.flag in taken:
            continue
        # The script's own serve defaults (Service(serve=...)) are the ones it runs with.
        s.add_argument(group, _SERVE + name, service.serve_defaults.get(name))
    if "--config" not in taken:
        group.add_argument(
            "--config",
            dest=_SERVE + "config",
            metavar="FILE",
            help=f"Config file, TOML or .py. [env {service.env_prefix}CONFIG]",
        )
    if "--env-file" not in taken:
        group.add_argument(
            "--env-file",
            dest=_SERVE + "env_file",
            metavar="FILE",
            action="append",
            help=ENV_FILE_HELP,
        )
    if "--dev" not in taken:
        group.add_argument(
            "--dev",
            dest=_SERVE + "dev",
            action="store_true",
            help="Development mode: Flask's reloader and debugger, on loopback only.",
        )
    return parser


def parse_command_line(service: Configurable, argv: Sequence[str]) -> tuple[Sources, bool]:
    """Parse ``argv``; return the sources it gives and whether dev mode was asked for.

    Only the flags actually given count as the "flag" source, so a parser
    default never hides an env var or a config file value.
    """
    import os

    shown = build_parser(service)
    parser = copy.deepcopy(shown)
    for action in parser._actions:
        if action.dest != "help":
            action.default = argparse.SUPPRESS
            action.required = False  # checked after env and file, which may satisfy it
    for group in parser._mutually_exclusive_groups:
        group.required = False  # likewise
    parser.format_help = shown.format_help  # type: ignore[method-assign]
    parser.format_usage = shown.format_usage  # type: ignore[method-assign]
    given: dict[str, Any] = vars(parser.parse_args(argv))

    flags = {a.dest: _flag(a) for a in parser._actions}
    app_flags, serve_flags = {}, {}
    for name, action in service.schema.address.items():
        if action.dest in given:
            serve_flags[name] = (given.pop(action.dest), f"flag {_flag(action)}")
    config = given.pop(_SERVE + "config", None)
    env_file_paths = given.pop(_SERVE + "env_file", None) or []
    dev = bool(given.pop(_SERVE + "dev", False))
    for dest, value in given.items():
        if dest.startswith(_SERVE):
            name = dest.removeprefix(_SERVE)
            serve_flags[name] = (value, f"flag {SETTINGS[name].flag}")
        else:
            app_flags[dest.upper()] = (value, flags[dest])
    debug = service.schema.options.get("DEBUG")
    if debug and app_flags.get("DEBUG", (False,))[0] is True:
        dev = True  # a script's own --debug flag means flaskd's dev mode
    environ = dict(os.environ)
    env_files = load_env_files(env_file_paths, os.environ)
    sources = Sources(
        environ,
        env_files=env_files,
        app_flags=app_flags,
        serve_flags=serve_flags,
        config_flag=(config, "flag --config") if config else None,
        command_line=True,
    )
    return sources, dev


def _flag(action: argparse.Action) -> str:
    long = [f for f in action.option_strings if f.startswith("--")]
    return (long or action.option_strings or [action.dest.upper()])[0]
