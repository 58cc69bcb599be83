"""Reading a config file: TOML (app keys, and a ``[serve]`` table) or ``.py`` (as Flask's
``from_pyfile``), each value with the ``file:line`` it came from."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path
from typing import Any

import flask

from ._errors import ConfigError

_TOML_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]")
_TOML_KEY = re.compile(r"""^\s*(["']?)([A-Za-z0-9_-]+)\1\s*=""")
_TOML_ERROR = re.compile(r"^(.*) \(at line (\d+), column (\d+)\)$")


def load_file(
    path: str, origin: str
) -> tuple[dict[str, tuple[Any, str]], dict[str, tuple[Any, str]]]:
    """Read a config file into (app values, serving values), each with its ``file:line``."""
    file = Path(path)
    if file.suffix not in (".toml", ".py"):
        raise ConfigError(f"{origin}: config file {path!r} is neither .toml nor .py")
    if not file.is_file():
        raise ConfigError(f"{origin}: config file {path!r} not found")
    return _load_toml(file) if file.suffix == ".toml" else (_load_py(file), {})


def _load_toml(file: Path) -> tuple[dict[str, tuple[Any, str]], dict[str, tuple[Any, str]]]:
    text = file.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = _TOML_ERROR.match(str(e))
        place = f"{file}:{m[2]}:{m[3]}: invalid TOML: {m[1]}" if m else f"{file}: invalid TOML: {e}"
        raise ConfigError(place) from None
    lines: dict[tuple[str, str], int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), 1):
        if m := _TOML_TABLE.match(line):
            table = m[1]
        elif m := _TOML_KEY.match(line):
            lines.setdefault((table, m[2]), number)

    def where(table: str, key: str) -> str:
        number = lines.get((table, key)) or lines.get(("", table))
        return f"{file}:{number}" if number else str(file)

    app: dict[str, tuple[Any, str]] = {}
    serve: dict[str, tuple[Any, str]] = {}
    for key, value in data.items():
        if key == "serve" and isinstance(value, dict):
            serve = {k: (v, where("serve", k)) for k, v in value.items()}
        else:
            app[key.upper()] = (value, where("", key))
    return app, serve


def _load_py(file: Path) -> dict[str, tuple[Any, str]]:
    config = flask.Config(str(file.parent))
    try:
        config.from_pyfile(str(file.resolve()))
    except SyntaxError as e:
        raise ConfigError(f"{file}:{e.lineno}: invalid Python: {e.msg}") from None
    except Exception as e:
        raise ConfigError(f"{file}: failed to load: {type(e).__name__}: {e}") from None
    lines: dict[str, int] = {}
    for node in ast.parse(file.read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        for target in targets:
            if isinstance(target, ast.Name):
                lines.setdefault(target.id, node.lineno)
    return {k: (v, f"{file}:{lines[k]}" if k in lines else str(file)) for k, v in config.items()}
