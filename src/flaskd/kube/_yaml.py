"""Just enough YAML to write Kubernetes objects readably: maps, lists, strings, numbers.

Kubernetes objects need no anchors, tags or flow style; a string that could read as
anything else (a number, a boolean, null, a flow collection) is written as a JSON
string, which YAML reads as the same string. A multi-line text (a config file) is a
literal block.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN = re.compile(r"[A-Za-z/_.][A-Za-z0-9/_.=@+-]*(?: [A-Za-z0-9/_.=@+(),-]+)*")
_SPECIAL = re.compile(r"(?i)true|false|yes|no|on|off|y|n|null|~|[-+]?(\.?[0-9].*|\.inf|\.nan)")


def dump(obj: Any) -> str:
    """One YAML document for ``obj`` (a dict), ending with a newline."""
    return "\n".join(_lines(obj, 0)) + "\n"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and not _SPECIAL.fullmatch(text) and ": " not in text:
        return text
    return json.dumps(text)


def _block(text: str) -> bool:
    """Whether ``text`` reads back the same from a literal block (``|``)."""
    lines = text.split("\n")
    return (
        "\n" in text.rstrip("\n")
        and text.endswith("\n")
        and not text.endswith("\n\n")
        and not text.startswith((" ", "\t"))
        and all(line == line.rstrip() and line.isprintable() for line in lines)
    )


def _lines(obj: Any, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            head = f"{pad}{_scalar(key)}:"
            if isinstance(value, dict | list) and value:
                out.append(head)
                out += _lines(value, indent + 2 if isinstance(value, dict) else indent)
            elif isinstance(value, str) and _block(value):
                out.append(f"{head} |")
                out += [f"{pad}  {line}" if line else "" for line in value[:-1].split("\n")]
            else:
                out.append(
                    f"{head} {_empty(value) if isinstance(value, dict | list) else _scalar(value)}"
                )
    else:
        for item in obj:
            if isinstance(item, dict | list) and item:
                inner = _lines(item, indent + 2)
                out.append(f"{pad}- {inner[0][indent + 2 :]}")
                out += inner[1:]
            else:
                out.append(f"{pad}- {_scalar(item)}")
    return out


def _empty(value: dict[Any, Any] | list[Any]) -> str:
    return "{}" if isinstance(value, dict) else "[]"
