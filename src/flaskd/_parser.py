"""Reading an app's argparse parser as the schema of its configuration."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from typing import Any, cast

from ._fields import Field, looks_secret

#: App flags that name the serving address rather than app configuration.
ADDRESS_FLAGS = {"--host": "host", "--port": "port"}

_SKIPPED = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)


@dataclasses.dataclass(frozen=True)
class AppOption:
    """One option of the app's parser: its argparse ``dest`` and its field."""

    dest: str
    field: Field


@dataclasses.dataclass(frozen=True)
class Schema:
    """The app's options, keyed by config key, and the serving defaults its parser sets."""

    options: dict[str, AppOption]
    #: Serving settings the parser declares itself (``--host``/``--port``), by setting name.
    address: dict[str, argparse.Action]
    #: The parser's mutually exclusive groups: their keys, and whether one is required.
    exclusive: tuple[tuple[tuple[str, ...], bool], ...] = ()


def read_parser(parser: argparse.ArgumentParser | None) -> Schema:
    """Build the configuration schema from an argparse parser (or none)."""
    options: dict[str, AppOption] = {}
    address: dict[str, argparse.Action] = {}
    for action in parser._actions if parser is not None else ():
        if isinstance(action, _SKIPPED) or action.dest is argparse.SUPPRESS:
            continue
        setting = next(
            (ADDRESS_FLAGS[f] for f in action.option_strings if f in ADDRESS_FLAGS), None
        )
        if setting is not None:
            address[setting] = action
            continue
        field = _field(action)
        options[field.key] = AppOption(action.dest, field)
    exclusive = tuple(
        (keys, bool(group.required))
        for group in (parser._mutually_exclusive_groups if parser is not None else ())
        if (
            keys := tuple(a.dest.upper() for a in group._group_actions if a.dest.upper() in options)
        )
    )
    return Schema(options, address, exclusive)


def _field(action: argparse.Action) -> Field:
    key = action.dest.upper()
    flag = next((f for f in action.option_strings if f.startswith("--")), None)
    if flag is None and action.option_strings:
        flag = action.option_strings[0]
    convert = action.type if callable(action.type) else str
    common: dict[str, Any] = {
        "key": key,
        "default": _default(action, convert),
        "required": bool(action.required),
        "secret": looks_secret(key),
        "flag": flag,
        "help": action.help or "",
    }
    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        return Field(shape="bool", **common)
    if isinstance(action, argparse.BooleanOptionalAction):
        return Field(shape="bool", **common)
    if isinstance(action, argparse._StoreConstAction):
        return Field(shape="bool", if_true=action.const, if_false=action.default, **common)
    if isinstance(action, argparse._CountAction):
        return Field(shape="count", **common)
    several = isinstance(action, argparse._AppendAction | argparse._AppendConstAction)
    nargs = action.nargs
    if several or nargs in ("*", "+", argparse.REMAINDER) or isinstance(nargs, int):
        return Field(
            shape="list",
            convert=convert,
            choices=cast(Sequence[Any] | None, action.choices),
            nargs=nargs if nargs in ("+",) or isinstance(nargs, int) else None,
            **common,
        )
    return Field(convert=convert, choices=cast(Sequence[Any] | None, action.choices), **common)


def _default(action: argparse.Action, convert: Any) -> Any:
    """The option's default as argparse would deliver it (string defaults go through type)."""
    default = action.default
    if isinstance(default, str) and action.type is not None and callable(convert):
        return convert(default)
    return default
