"""Env files: ``KEY=value`` lines, read as systemd's ``EnvironmentFile=`` reads them.

flaskd refuses a line that systemd would read otherwise than it looks (``export
KEY=VALUE``, which systemd ignores; quotes and backslashes, which it reads its
own way), so that what flaskd checks is what the service will see.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, MutableMapping, Sequence
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

    def with_values(self, values: dict[str, str]) -> EnvFile:
        """This file with some of its variables' values replaced."""
        return dataclasses.replace(self, values={**self.values, **values})


def place(env_files: Sequence[EnvFile], var: str) -> str | None:
    """``--env-file PATH:LINE: VAR`` for the last of ``env_files`` that sets ``var``."""
    for env_file in reversed(env_files):
        if var in env_file.places:
            return f"{env_file.places[var]}: {var}"
    return None


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


#: The help of ``--env-file``, wherever it is an option.
HELP = (
    "Read KEY=VALUE lines (systemd's EnvironmentFile= syntax) into the environment, below its"
    " own variables; repeatable, a later file wins."
)

#: The env files `flaskd dev` reads from the working directory, as `flask run` does (the
#: second over the first).
DEV_FILES = (".flaskenv", ".env")


def load_env_files(
    paths: Iterable[str], environ: MutableMapping[str, str], *, dev: bool = False
) -> list[EnvFile]:
    """Read the env files at ``paths`` (in dev mode ``.flaskenv`` and ``.env`` first, where
    they exist) and export their variables into ``environ`` below its own: a variable the
    environment has keeps its value, and a later file wins over an earlier one.

    Returns the files, for the sources to name where each variable came from.
    """
    files = [p for p in DEV_FILES if dev and os.path.isfile(p)] + list(paths)
    env_files = [read_env_file(p) for p in files]
    export(env_files, environ)
    return env_files


def export(env_files: Sequence[EnvFile], environ: MutableMapping[str, str]) -> None:
    """Set the variables of ``env_files`` in ``environ`` where it has none (the last file wins)."""
    for env_file in reversed(env_files):
        for key, value in env_file.values.items():
            environ.setdefault(key, value)
