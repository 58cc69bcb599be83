"""Imports the rules add or swap: ``from flaskd import Service``, argparse for optparse or click."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper

from ._names import Imports, dotted, import_lines

#: A module-level statement, as libcst types a module's body.
Statement = cst.SimpleStatementLine | cst.BaseCompoundStatement


def imports_service(imports: Imports) -> bool:
    return imports.names.get("Service") == "flaskd.Service"


def import_service(body: list[Statement], before: int) -> None:
    """Insert ``from flaskd import Service`` after the last module-level import that comes
    before ``body[before]``."""
    body.insert(_import_position(body, before), cst.parse_statement("from flaskd import Service\n"))


def _import_position(body: Sequence[cst.BaseStatement], before: int) -> int:
    """After the last module-level import that comes before ``before``."""
    last = -1
    for i, stmt in enumerate(body[: before + 1]):
        if isinstance(stmt, cst.SimpleStatementLine) and any(
            isinstance(s, cst.Import | cst.ImportFrom) or (i == 0 and _is_string(s))
            for s in stmt.body
        ):
            last = i
        elif isinstance(stmt, cst.Try) and any(
            isinstance(s, cst.Import | cst.ImportFrom)
            for line in import_lines([stmt])
            for s in line.body
        ):
            last = i  # try: from flask import Flask / except ImportError: ...
    return last + 1


def _is_string(small: cst.BaseSmallStatement) -> bool:
    return isinstance(small, cst.Expr) and isinstance(
        small.value, cst.SimpleString | cst.ConcatenatedString
    )


def swap_import(module: cst.Module, old: str, new: str) -> cst.Module:
    """Import module ``new`` right above the first import of ``old`` (unless it is imported
    already), and remove the imports of ``old`` that nothing uses any more."""
    # Imported here: libcst.codemod takes longer to import than most files take to convert.
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import RemoveImportsVisitor

    results: dict[int, cst.BaseStatement | cst.RemovalSentinel] = {}
    tops: set[int] = set()

    class RemoveModuleImports(RemoveImportsVisitor):
        """Only module-level imports: one in a function is outside what the rules rewrite.
        What became of each module-level statement is kept in ``results``."""

        def visit_IndentedBlock(self, node: cst.IndentedBlock) -> bool:
            return False

        def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> bool:
            return False

        def on_leave(self, original_node: Any, updated_node: Any) -> Any:
            result = super().on_leave(original_node, updated_node)
            if id(original_node) in tops:
                results[id(original_node)] = result
            return result

    found = [
        (i, item)
        for i, stmt in enumerate(module.body)
        if isinstance(stmt, cst.SimpleStatementLine)
        for small in stmt.body
        for item in _imported_from(small, old)
    ]
    context = CodemodContext()
    for _, item in found:
        RemoveImportsVisitor.remove_unused_import(context, *item)
    body = list(module.body)
    if Imports(module).names.get(new) != new:
        first = found[0][0]  # the analysis found ``old`` through a module-level import
        line = cst.parse_statement(f"import {new}\n")
        body[first : first + 1] = [
            line.with_changes(leading_lines=body[first].leading_lines),
            body[first].with_changes(leading_lines=[]),
        ]
    # What transform_module() does, but on these nodes (it would copy the whole tree first),
    # and on the statements whose code mentions a name these imports bind: only they can use
    # it (as a name, in __all__, in a string annotation), and the scopes the visitor needs
    # take longer to resolve over a whole module than the rest of a conversion.
    code = module.code_for_node
    names = {alias or name or path.partition(".")[0] for _, (path, name, alias) in found}
    mentioning = [s for s in body if any(n in code(s) for n in names)]
    tops.update(id(s) for s in mentioning)
    pruned = module.with_changes(body=mentioning)
    visitor = RemoveModuleImports(context)
    wrapper = MetadataWrapper(pruned, unsafe_skip_copy=True)
    with visitor.resolve(wrapper):
        visitor.context = dataclasses.replace(visitor.context, wrapper=wrapper)
        visitor.transform_module_impl(pruned)
    kept = []
    for stmt in body:
        now = results.get(id(stmt), stmt)
        # A line whose imports all went is dropped, as LibCST does.
        if isinstance(now, cst.RemovalSentinel):
            continue
        if not isinstance(now, cst.SimpleStatementLine) or now.body:
            kept.append(now)
    return module.with_changes(body=kept)


def _imported_from(
    small: cst.BaseSmallStatement, module: str
) -> list[tuple[str, str | None, str | None]]:
    """``(module, name, alias)`` for each name ``small`` imports from ``module`` or one of its
    submodules (name None: the module itself), as `RemoveImportsVisitor` takes them."""

    def within(name: str) -> bool:
        return name == module or name.startswith(module + ".")

    if isinstance(small, cst.Import):
        return [
            (a.evaluated_name, None, a.evaluated_alias)
            for a in small.names
            if within(a.evaluated_name)
        ]
    if (
        isinstance(small, cst.ImportFrom)
        and not small.relative
        and small.module is not None
        and within(dotted(small.module) or "")
        and not isinstance(small.names, cst.ImportStar)
    ):
        base = dotted(small.module) or ""
        return [(base, a.evaluated_name, a.evaluated_alias) for a in small.names]
    return []
