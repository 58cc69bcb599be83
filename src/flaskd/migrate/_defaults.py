"""Fallbacks a script gives an option on its main path, which become the option's ``default=``:
``if args.port == None: args.port = "5000"`` (the ``args.host if args.host else ...`` form is
folded where app.run() reads it, in serve.py)."""

from __future__ import annotations

import libcst as cst

from ._names import dotted, read_names, walk
from ._parsing import Option, Parser
from ._script import Script

#: Keywords after which a ``default=`` would not mean what the fallback did.
CHANGES_DEFAULT = {"action", "nargs", "const", "required", "default"}


def none_fallbacks(
    script: Script, parser: Parser | None
) -> list[tuple[cst.If, Option, cst.BaseExpression]]:
    """Each main-path ``if args.x is None: args.x = <literal>`` (or ``== None``) that comes
    before any other read of ``args.x`` there, for an option that has no default and keeps
    ``args.x`` None when absent: the literal is the default the script gave it."""
    main = script.main
    if parser is None or parser.parse is None or main is None or main.kind == "module":
        return []
    body = main.body
    start = body.index(parser.parse) + 1 if parser.parse in body else 0
    found: list[tuple[cst.If, Option, cst.BaseExpression]] = []
    seen: set[str] = set()
    for stmt in body[start:]:
        fallback = _fallback(parser, stmt)
        if isinstance(stmt, cst.If) and fallback is not None and fallback[0].dest not in seen:
            found.append((stmt, *fallback))
            seen.add(fallback[0].dest)
            continue
        seen |= {d for n in walk(stmt) if (d := parser.dest_read(n)) is not None}
    return found


def _fallback(parser: Parser, stmt: cst.BaseStatement) -> tuple[Option, cst.BaseExpression] | None:
    if not isinstance(stmt, cst.If) or stmt.orelse is not None:
        return None
    test = stmt.test
    if not (
        isinstance(test, cst.Comparison)
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, cst.Is | cst.Equal)
        and dotted(test.comparisons[0].comparator) == "None"
    ):
        return None
    dest = parser.dest_read(test.left)
    block = stmt.body
    line = block.body[0] if isinstance(block, cst.IndentedBlock) and len(block.body) == 1 else None
    small = (
        line.body[0] if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 else None
    )
    if dest is None or not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return None
    if parser.dest_read(small.targets[0].target) != dest or read_names(small.value):
        return None
    option = next((o for o in parser.options if o.dest == dest), None)
    if option is None or any(
        a.keyword is not None and a.keyword.value in CHANGES_DEFAULT for a in option.call.args
    ):
        return None
    typed = any(a.keyword is not None and a.keyword.value == "type" for a in option.call.args)
    if typed and isinstance(small.value, cst.SimpleString | cst.ConcatenatedString):
        return None  # argparse would convert a string default with type=; the script did not
    return option, small.value
