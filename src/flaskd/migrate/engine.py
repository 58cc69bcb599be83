"""Converting one file's text: every rule in order, then checks before anything is written."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Collection
from typing import Literal, cast

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ._analysis import Declined, Facts, analyze
from ._edit import Context
from ._registry import MAIN_PATH, RULES

Status = Literal["converted", "unchanged", "declined", "failed"]
Apply = Callable[[cst.Module, Context], cst.Module]


@dataclasses.dataclass
class Result:
    """What migrating one file gave: its status, the new text, and why (``file:line: ...``)."""

    status: Status
    output: str
    reasons: list[str] = dataclasses.field(default_factory=list)
    #: The module defines a flaskd Service once converted (so it can get a wsgi.py).
    has_service: bool = False
    #: The file's encoding, to write it back the same way.
    encoding: str = "utf-8"


def migrate_source(
    source: str,
    *,
    filename: str = "<stdin>",
    env_prefix: str | None = None,
    rules: Collection[str] = tuple(RULES),
) -> Result:
    """Convert a script's text with the given rules.

    Never raises for a bad input: a file that is not Python is ``failed``, one
    with something that cannot be converted safely is ``declined`` (its text
    unchanged), each with reasons that name ``file:line``.
    """
    if "flask" not in source:
        return Result("unchanged", source)
    try:
        compile(source, filename, "exec", dont_inherit=True)
        module = cst.parse_module(source)
    except (SyntaxError, ValueError, cst.ParserSyntaxError) as e:
        line = getattr(e, "lineno", None) or getattr(e, "raw_line", None)
        where = f"{filename}:{line}" if line else filename
        return Result("failed", source, [f"{where}: not valid Python: {_first_line(e)}"])
    context = Context(env_prefix)
    try:
        facts = analyze(module)
        _check_rules(facts, rules)
        output = _convert(module, context, rules)
    except Declined as e:
        line = _line(module, e)
        where = f"{filename}:{line}" if line else filename
        return Result("declined", source, [f"{where}: {e.reason}"])
    except Exception as e:  # a bug: never a half-converted file
        return Result("failed", source, [f"{filename}: flaskd migrate failed ({_bug(e)})"])
    if output == source:
        return Result("unchanged", source, has_service=facts.service is not None)
    problem = _verify(output, filename, context, rules)
    if problem:
        return Result("failed", source, [f"{filename}: flaskd migrate failed ({problem})"])
    return Result("converted", output, _todos(output, filename), has_service=True)


def _convert(module: cst.Module, context: Context, rules: Collection[str]) -> str:
    for rule in RULES.values():
        if rule.id in rules:
            apply = cast(Apply, importlib.import_module(f"{__package__}.{rule.module}").apply)
            module = apply(module, context)
    return module.code


def _check_rules(facts: Facts, rules: Collection[str]) -> None:
    """The main-path rules go together: converting only some of them would break the script."""
    if facts.click is not None and "click" not in rules and set(rules) & set(MAIN_PATH):
        name = facts.click.name.value
        raise Declined(
            facts.click, f"{name}() takes its options from click; rule click converts them"
        )
    needed = facts.needs()
    chosen = needed & set(rules)
    missing = sorted(needed - chosen)
    if chosen & set(MAIN_PATH) and missing:
        main = facts.main
        node = (main.guard or main.function) if main is not None else None
        raise Declined(node, f"converting the main path also needs rule(s) {', '.join(missing)}")


def _verify(output: str, filename: str, context: Context, rules: Collection[str]) -> str | None:
    """Why the output must not be written: it does not compile, or a second run changes it."""
    try:
        compile(output, filename, "exec", dont_inherit=True)
        again = _convert(cst.parse_module(output), context, rules)
    except Declined as e:
        return f"its output is declined on a second run: {e.reason}"
    except Exception as e:
        return f"its output does not compile: {_bug(e)}"
    if again != output:
        return "a second run would change its output"
    return None


def _line(module: cst.Module, error: Declined) -> int | None:
    """The line of the node at fault, if it is in the original module (rules that ran
    before the decline may have built it)."""
    if error.node is None:
        return None
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    where = positions.get(error.node)
    return where.start.line if where is not None else None


def _todos(output: str, filename: str) -> list[str]:
    return [
        f"{filename}:{i}: {line.strip()}"
        for i, line in enumerate(output.splitlines(), 1)
        if "# TODO(flaskd):" in line
    ]


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _bug(error: BaseException) -> str:
    return f"{type(error).__name__}: {_first_line(error)}; please report it"
