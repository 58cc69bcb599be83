"""Env files: ``KEY=value`` lines, read as systemd's ``EnvironmentFile=`` reads them.

flaskd refuses a line that systemd would read otherwise than it looks (``export
KEY=VALUE``, which systemd ignores; quotes and backslashes, which it reads its
own way), so that what flaskd checks is what the service will see.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from ._errors import ConfigError

_BLANKS = " \t"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: A value systemd takes as written: one quoted string, or none in front; backslashes only
#: in single quotes.
_VALUE = re.compile(r"'[^']*'|\"[^\"\\]*\"|(?:[^'\"\\][^\\]*)?")
_ACCEPTED = (
    "write KEY=value, KEY='value' or KEY=\"value\" on one line, KEY of letters, digits and _"
    " (not a digit first), a backslash only inside single quotes"
)


@dataclasses.dataclass(frozen=True)
class EnvFile:
    """The variables of an env file, and for each the place that sets it (``FILE:LINE``)."""

    #: As the user gave it (for messages), and absolute (for the unit).
    path: str
    absolute: str
    values: dict[str, str]
    places: dict[str, str]

    def name_source(self, source: str) -> str:
        """``source`` as it names a variable this file sets: ``env VAR`` becomes
        ``--env-file PATH:LINE: VAR``; any other source is returned as it is."""
        var = source.removeprefix("env ")
        if source.startswith("env ") and var in self.places:
            return f"{self.places[var]}: {var}"
        return source


def read_env_file(path: str) -> EnvFile:
    """Read the env file at ``path``; raise `ConfigError` naming ``FILE:LINE`` for a line
    that systemd would ignore or read otherwise than it looks."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"--env-file {path!r}: cannot read it: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"--env-file {path!r}: not UTF-8, so systemd would not start the service;"
            " save it as UTF-8"
        ) from None
    values, places = {}, {}
    # systemd ends a line at \r too.
    for number, line in enumerate(re.split(r"\r\n?|\n", text), 1):
        where = f"--env-file {path}:{number}"
        stripped = line.strip(_BLANKS)
        if not stripped:
            continue
        if stripped.startswith(("#", ";")):
            if line.endswith("\\"):
                raise ConfigError(
                    f"{where}: systemd continues a comment that ends in a backslash onto the"
                    " next line; remove the backslash"
                )
            continue
        key, sep, value = stripped.partition("=")
        key = key.rstrip(_BLANKS)
        if key.startswith(("export ", "export\t")):
            name = key.removeprefix("export").lstrip(_BLANKS)
            raise ConfigError(
                f"{where}: systemd ignores an export line (the file is not a shell script);"
                f" write {name}=..."
            )
        if not sep:
            raise ConfigError(f"{where}: systemd ignores a line without =; {_ACCEPTED}")
        if not _NAME.fullmatch(key):
            # Not quoted: a line that is no assignment may be a secret.
            raise ConfigError(
                f"{where}: systemd ignores this line, the text before = is no variable name;"
                f" {_ACCEPTED}"
            )
        value = value.strip(_BLANKS)
        if not _VALUE.fullmatch(value):
            raise ConfigError(
                f"{where}: {key}: systemd reads quotes and backslashes its own way (it joins"
                f" quoted parts, drops backslashes, continues lines); {_ACCEPTED}"
            )
        values[key] = value[1:-1] if value.startswith(("'", '"')) else value
        places[key] = where
    return EnvFile(path, os.path.abspath(path), values, places)
