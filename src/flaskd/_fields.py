"""Typed configuration fields: converting text and file data, describing what is accepted.

A `Field` is what flaskd knows about one configuration key: how to turn an env
var or a flag's text into a value, how to check a value read from a TOML or
``.py`` file, and how to say what would have been accepted. App options build
their fields from the app's argparse actions; serving options declare theirs in
`flaskd._settings`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shlex
from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
BOOL_WORDS = "true/false, 1/0, yes/no or on/off"

_SECRET_NAME = re.compile(r"SECRET|PASSW|TOKEN|CREDENTIAL|PRIVATE|(^|_)KEY($|_)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/:@\s]*:)(?P<password>[^@\s]+)(?=@)")
MASK = "********"

_EXPECTED = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: f"a boolean ({BOOL_WORDS})",
}


class BadValue(ValueError):
    """A value that a field does not accept; the message says what would be."""


def parse_bool(text: str) -> bool:
    """Return the boolean an env var or flag spells, accepting the usual words."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise BadValue(f"expected {BOOL_WORDS}")


def looks_secret(key: str) -> bool:
    """Tell whether a key's name suggests its value is a secret."""
    return bool(_SECRET_NAME.search(key))


def hide_password(text: str) -> str:
    """Replace the password of any URL in ``text`` (``postgres://u:pw@host``) with a mask."""
    return _URL_PASSWORD.sub(lambda m: m["head"] + MASK, text)


def mask(value: Any) -> str:
    """Render a value for display, hiding a password inside a URL."""
    return hide_password(repr(value))


@dataclasses.dataclass(frozen=True)
class Converter(Generic[T]):
    """A conversion from text, with the words that say what it accepts."""

    convert: Callable[[Any], T]
    description: str

    def __call__(self, text: Any) -> T:
        return self.convert(text)


def described(description: str) -> Callable[[Callable[[Any], T]], Converter[T]]:
    """Make a function a `Converter` that accepts what ``description`` says."""
    return lambda convert: Converter(convert, description)


def _type_name(convert: Callable[..., Any]) -> str:
    if isinstance(convert, Converter):
        return convert.description
    if convert in _EXPECTED:
        return _EXPECTED[convert]
    if isinstance(convert, type) and issubclass(convert, PurePath):
        return "a path"
    name = getattr(convert, "__name__", type(convert).__name__)
    return f"a value {name}() accepts"


@dataclasses.dataclass(frozen=True)
class Field:
    """One configuration key: its type, default, choices and shape."""

    key: str
    convert: Callable[[str], Any] = str
    default: Any = None
    choices: Sequence[Any] | None = None
    #: ``"bool"`` for flags, ``"list"`` for several values, ``"count"``, or ``"value"``.
    shape: str = "value"
    #: For list fields: ``"+"``, ``"*"`` or a fixed count, as in argparse's ``nargs``.
    nargs: int | str | None = None
    #: For bool fields built from ``store_const``: the values for true and false.
    if_true: Any = True
    if_false: Any = False
    required: bool = False
    secret: bool = False
    #: The command-line flag that sets this key in standalone mode, if any.
    flag: str | None = None
    help: str = ""

    def expected(self) -> str:
        """Say in words what this field accepts."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.shape == "bool":
            return _EXPECTED[bool]
        if self.shape == "count":
            return "a whole number"
        if self.shape == "list":
            return f"a list of {_type_name(self.convert)}, separated by spaces"
        return _type_name(self.convert)

    def from_text(self, text: str) -> Any:
        """Convert the text of an env var, secret file or flag; raise `BadValue`."""
        if self.shape == "bool":
            return self.if_true if parse_bool(text) else self.if_false
        if self.shape == "count":
            return self._scalar(text, int)
        if self.shape == "list":
            try:
                words = shlex.split(text)
            except ValueError as e:
                raise BadValue(f"cannot split into words ({e})") from None
            return self._items(words)
        return self._scalar(text, self.convert)

    def from_data(self, data: Any) -> Any:
        """Check and convert a value read from a TOML or ``.py`` file; raise `BadValue`."""
        if isinstance(data, str):
            return self.from_text(data)
        if self.shape == "bool":
            if not isinstance(data, bool):
                raise BadValue(f"expected {self.expected()}")
            return self.if_true if data else self.if_false
        if self.shape == "count":
            return self._scalar(data, int)
        if self.shape == "list":
            if not isinstance(data, list | tuple):
                raise BadValue(f"expected {self.expected()}")
            return self._items(list(data))
        return self._scalar(data, self.convert)

    def _items(self, items: list[Any]) -> list[Any]:
        if self.nargs == "+" and not items:
            raise BadValue(f"expected at least one value ({self.expected()})")
        if isinstance(self.nargs, int) and len(items) != self.nargs:
            raise BadValue(f"expected {self.nargs} values, got {len(items)}")
        return [self._scalar(item, self.convert) for item in items]

    def _scalar(self, data: Any, convert: Callable[[Any], Any]) -> Any:
        if not isinstance(data, str):
            numeric = isinstance(data, int | float) and not isinstance(data, bool)
            if convert is int and not (isinstance(data, int) and numeric):
                raise BadValue(f"expected {self.expected()}")
            if convert is float and not numeric:
                raise BadValue(f"expected {self.expected()}")
            if convert not in (int, float):
                data = str(data) if numeric else data
        try:
            value = convert(data)
        except argparse.ArgumentTypeError as e:
            raise BadValue(str(e)) from None
        except (TypeError, ValueError):
            raise BadValue(f"expected {self.expected()}") from None
        if self.choices is not None and value not in self.choices:
            raise BadValue(f"expected {self.expected()}")
        return value


def field_like(key: str, current: Any, secret: bool = False) -> Field:
    """Build a field for a key the app set itself, typed by its current value."""
    if isinstance(current, bool):
        return Field(key, shape="bool", secret=secret)
    if isinstance(current, int | float):
        return Field(key, convert=type(current), secret=secret)
    if isinstance(current, list | tuple | dict):
        return Field(
            key, convert=_json_of(dict if isinstance(current, dict) else list), secret=secret
        )
    return Field(key, secret=secret)


def _json_of(kind: type) -> Converter[Any]:
    @described(f"a JSON {'object' if kind is dict else 'array'}")
    def convert(text: Any) -> Any:
        value = json.loads(text) if isinstance(text, str) else text
        if not isinstance(value, kind):
            raise ValueError(text)
        return value

    return convert
