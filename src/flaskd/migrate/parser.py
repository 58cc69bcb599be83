"""Rule ``parser``: the argparse parser becomes module-level and is handed to the Service.

The parser is the schema of the app's configuration: flaskd reads each
option's dest, type, default and choices from it, parses the command line as
a script and reads env vars and config files under a server. ``parse_args()``
disappears: under gunicorn it would read gunicorn's own command line.
"""

from __future__ import annotations

import libcst as cst

from ._analysis import Declined, Facts, analyze
from ._edit import (
    Context,
    MainPathEditor,
    Statement,
    blank,
    ensure_service,
    reflow_service,
    service_call,
)

ID = "parser"


def apply(module: cst.Module, context: Context) -> cst.Module:
    facts = analyze(module)
    parser = facts.parser
    if parser is None or parser.parse is None:
        return module
    if parser.kind != "argparse":
        raise Declined(parser.create, "an optparse parser; the optparse rule converts it first")
    module, facts, _ = ensure_service(module, context)
    parser = facts.parser
    assert parser is not None
    assert parser.parse is not None
    on_main = [s for s in parser.statements if s not in facts.module.body]
    removed = {id(s) for s in on_main} | {id(parser.parse)} | {id(s) for s in facts.copies}
    removed |= {id(s) for s in (parser.helper, parser.handoff) if s is not None}
    if parser.local is not None and parser.local != parser.name:
        rename = _Rename(parser.local, parser.name)
        helper = parser.helper.body if parser.helper is not None else None
        on_main = [_renamed(s, rename) if _within(helper, s) else s for s in on_main]
    module = module.visit(_RemoveParsing(facts, removed, parser.namespace or ""))

    facts = analyze(module)
    assert facts.service_stmt is not None
    body = list(module.body)
    at = facts.index(facts.service_stmt)
    if on_main:
        moved: list[Statement] = [blank(on_main[0], 1), *on_main[1:]]
        body[at:at] = moved
        body[at + len(moved)] = blank(body[at + len(moved)], 0)
    module = module.with_changes(body=body)
    return reflow_service(_pass_parser(module, parser.name))


def _pass_parser(module: cst.Module, name: str) -> cst.Module:
    """``Service(app, ...)`` becomes ``Service(app, parser, ...)``."""
    facts = analyze(module)
    call = service_call(facts)
    positional = [a for a in call.args if a.keyword is None]
    if len(positional) >= 2 or any(a.keyword and a.keyword.value == "parser" for a in call.args):
        return module
    args = list(call.args)
    args.insert(1, cst.Arg(cst.Name(name), comma=args[0].comma))
    args[0] = args[0].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    new = call.with_changes(args=args)
    result = module.deep_replace(call, new)
    assert isinstance(result, cst.Module)
    return result


def _renamed(stmt: cst.SimpleStatementLine, rename: _Rename) -> cst.SimpleStatementLine:
    new = stmt.visit(rename)
    assert isinstance(new, cst.SimpleStatementLine)
    return new


def _within(block: cst.BaseSuite | None, stmt: cst.BaseStatement) -> bool:
    return isinstance(block, cst.IndentedBlock) and any(s is stmt for s in block.body)


class _Rename(cst.CSTTransformer):
    """The helper's name for its parser becomes the one the main path gave it (the analysis
    made sure it appears only as the assignment's target and as the owner of method calls)."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return (
            updated_node.with_changes(value=self.new)
            if updated_node.value == self.old
            else updated_node
        )

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        return updated_node.with_changes(attr=original_node.attr)

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)


class _RemoveParsing(MainPathEditor):
    """Drop parse_args(), the parser statements on the main path and ``global args``."""

    def __init__(self, facts: Facts, removed: set[int], namespace: str) -> None:
        assert facts.main is not None
        super().__init__(facts.main, removed)
        self.namespace = namespace

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        # A line that is only ``global args`` goes as a whole, like the other removed
        # statements (removing its one child instead would shift the block under
        # remove_from_block, which matches the old and new statements by position).
        if all(
            isinstance(small, cst.Global)
            and all(n.name.value == self.namespace for n in small.names)
            for small in node.body
        ):
            self.removed.add(id(node))
            return False
        return True

    def leave_Global(
        self, original_node: cst.Global, updated_node: cst.Global
    ) -> cst.Global | cst.RemovalSentinel:
        names = [n for n in updated_node.names if n.name.value != self.namespace]
        if not names:
            return cst.RemoveFromParent()
        if len(names) == len(updated_node.names):
            return updated_node
        names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(names=names)
