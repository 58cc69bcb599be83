"""Edits several rules share: declaring the service, adding hooks, swapping imports, TODOs."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal, TypeVar, cast

import libcst as cst

from ._analysis import Declined, Facts, Main, analyze
from ._names import Imports, bound_names, dotted

#: A module-level statement, as libcst types a module's body.
Statement = cst.SimpleStatementLine | cst.BaseCompoundStatement
S = TypeVar("S", bound=cst.CSTNode)

SERVICE = "service"
TODO = "# TODO(flaskd): "


@dataclasses.dataclass(frozen=True)
class Context:
    """What every rule is told: the env prefix to declare (None: let flaskd derive it)."""

    env_prefix: str | None


def statements(code: str) -> list[Statement]:
    return list(cst.parse_module(code).body)


def blank(stmt: S, lines: int) -> S:
    """``stmt`` with exactly ``lines`` blank lines before it (its comments kept)."""
    node: Any = stmt  # every statement has leading_lines, though no common base says so
    comments = [line for line in node.leading_lines if line.comment is not None]
    return cast(S, node.with_changes(leading_lines=[*[cst.EmptyLine()] * lines, *comments]))


def ensure_service(module: cst.Module, context: Context) -> tuple[cst.Module, Facts, str]:
    """Declare ``service = Service(app, ...)`` after the app if the module has none.

    Returns the module, its facts and the service's name.
    """
    facts = analyze(module)
    if facts.service is not None:
        return module, facts, facts.service
    assert facts.app is not None
    taken = bound_names(module.body)
    if SERVICE in taken:
        raise Declined(facts.app_stmt, f"the name {SERVICE!r} is taken; flaskd needs it")
    if "Service" in taken and not _imports_service(facts):
        raise Declined(facts.app_stmt, "the name 'Service' is taken; flaskd needs it")
    prefix = f", env_prefix={context.env_prefix!r}".replace("'", '"') if context.env_prefix else ""
    code = f"{SERVICE} = Service({facts.app}{prefix})\n"
    if "create_app" not in taken:
        code += f"create_app = {SERVICE}.create_app  # for servers that only call plain names\n"
    new = statements(code)
    new[0] = blank(new[0], 1)
    body = list(module.body)
    anchor = facts.anchor()
    after = anchor + 1
    if after < len(body) and not any(line.comment is None for line in body[after].leading_lines):
        body[after] = body[after].with_changes(
            leading_lines=[cst.EmptyLine(), *body[after].leading_lines]
        )
    body[after:after] = new
    if not _imports_service(facts):
        at = _import_position(body, anchor)
        body.insert(at, cst.parse_statement("from flaskd import Service\n"))
    module = module.with_changes(body=body)
    facts = analyze(module)
    assert facts.service is not None
    return module, facts, facts.service


def _imports_service(facts: Facts) -> bool:
    return facts.imports.names.get("Service") == "flaskd.Service"


def _import_position(body: Sequence[cst.BaseStatement], before: int) -> int:
    """After the last module-level import that comes before ``before``."""
    last = -1
    for i, stmt in enumerate(body[: before + 1]):
        if isinstance(stmt, cst.SimpleStatementLine) and any(
            isinstance(s, cst.Import | cst.ImportFrom) or (i == 0 and _is_string(s))
            for s in stmt.body
        ):
            last = i
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

    class RemoveModuleImports(RemoveImportsVisitor):
        """Only module-level imports: one in a function is outside what the rules rewrite."""

        def visit_IndentedBlock(self, node: cst.IndentedBlock) -> bool:
            return False

        def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> bool:
            return False

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
    return RemoveModuleImports(context).transform_module(module.with_changes(body=body))


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


def after_service(facts: Facts) -> int:
    """Index after the service declaration and its ``create_app`` line."""
    assert facts.service_stmt is not None
    at = facts.index(facts.service_stmt) + 1
    body = facts.module.body
    while at < len(body) and _is_create_app(body[at], facts.service or ""):
        at += 1
    return at


def _is_create_app(stmt: cst.BaseStatement, service: str) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Assign)
        and dotted(stmt.body[0].value) == f"{service}.create_app"
    )


def service_call(facts: Facts) -> cst.Call:
    assert facts.service_stmt is not None
    small = facts.service_stmt.body[0]
    assert isinstance(small, cst.Assign | cst.AnnAssign)
    assert isinstance(small.value, cst.Call)
    return small.value


def reflow_service(module: cst.Module, width: int = 100) -> cst.Module:
    """Wrap the service declaration as black would, when it does not fit on one line."""
    facts = analyze(module)
    stmt = facts.service_stmt
    if stmt is None:
        return module
    code = cst.Module([]).code_for_node
    line = code(stmt.with_changes(leading_lines=[])).rstrip("\n")
    if len(line) <= width or "\n" in line:
        return module
    call = service_call(facts)
    head = line[: line.index("(") + 1]
    args = [code(a.with_changes(comma=cst.MaybeSentinel.DEFAULT)).strip() for a in call.args]
    inner = "    " + ", ".join(args)
    if len(inner) <= width:
        text = f"{head}\n{inner}\n)\n"
    else:
        text = head + "\n" + "".join(f"    {a},\n" for a in args) + ")\n"
    new = cst.parse_statement(text).with_changes(leading_lines=stmt.leading_lines)
    body = [new if s is stmt else s for s in module.body]
    return module.with_changes(body=body)


def add_hook(
    facts: Facts,
    event: Literal["on_startup", "on_shutdown"],
    code: Sequence[cst.BaseStatement],
    *,
    names: Sequence[str],
    doc: str,
    globals_: Sequence[str] = (),
    placeholders: Sequence[str] = (),
) -> cst.Module:
    """Move ``code`` off the main path into a new ``@service.<event>`` hook taking the app.

    The hook gets the first free name of ``names``, the docstring ``doc`` and a ``global``
    statement for ``globals_``. It is declared right after the service (a shutdown hook after
    the start-up hook), below a ``name = None`` line for each of ``placeholders``.
    """
    assert facts.main is not None
    assert facts.app is not None
    assert facts.service is not None
    service = facts.service
    name = free_name(bound_names(facts.module.body), names)
    hook = cst.parse_statement(f"@{service}.{event}\ndef {name}({facts.app}):\n    {doc}\n")
    assert isinstance(hook, cst.FunctionDef)
    assert isinstance(hook.body, cst.IndentedBlock)
    head: list[cst.BaseStatement] = [hook.body.body[0]]
    if globals_:
        head.append(cst.parse_statement(f"global {', '.join(globals_)}\n"))
    body = [*head, blank(code[0], 0), *code[1:]]
    hook = blank(hook.with_changes(body=hook.body.with_changes(body=body)), 2)
    new: list[Statement] = [cst.parse_statement(f"{p} = None\n") for p in placeholders]
    if new:
        new[0] = blank(new[0], 1)
    new.append(hook)

    module = facts.module.visit(MainPathEditor(facts.main, {id(s) for s in code}))
    statements = list(module.body)
    at = after_service(analyze(module))
    if event == "on_shutdown":
        while at < len(statements) and _is_startup_hook(statements[at], service):
            at += 1  # after the start-up hook, which it usually mirrors
    if at < len(statements) and len(statements[at].leading_lines) < 2:
        statements[at] = blank(statements[at], 2)
    statements[at:at] = new
    return module.with_changes(body=statements)


def _is_startup_hook(stmt: cst.BaseStatement, service: str) -> bool:
    if isinstance(stmt, cst.SimpleStatementLine):  # a ``name = None`` placeholder
        return all(isinstance(s, cst.Assign) and dotted(s.value) == "None" for s in stmt.body)
    return isinstance(stmt, cst.FunctionDef) and any(
        cst.Module([]).code_for_node(d.decorator) == f"{service}.on_startup"
        for d in stmt.decorators
    )


def with_todo(stmt: S, text: str) -> S:
    """``stmt`` with a ``# TODO(flaskd): text`` comment above it, once."""
    comment = TODO + text
    node: Any = stmt
    lines = list(node.leading_lines)
    if any(line.comment is not None and line.comment.value == comment for line in lines):
        return stmt
    todo = cst.EmptyLine(comment=cst.Comment(comment))
    return cast(S, node.with_changes(leading_lines=[*lines, todo]))


def free_name(taken: set[str], candidates: Sequence[str]) -> str:
    for name in candidates:
        if name not in taken:
            return name
    n = 2
    while f"{candidates[0]}_{n}" in taken:
        n += 1
    return f"{candidates[0]}_{n}"


def remove_from_block(
    original: cst.BaseSuite,
    updated: cst.BaseSuite,
    removed: set[int],
    replacement: dict[int, cst.BaseStatement] | None = None,
) -> cst.BaseSuite:
    """The ``updated`` block without the statements whose ``original`` ids are in ``removed``,
    and with those in ``replacement`` replaced; never left empty."""
    assert isinstance(original, cst.IndentedBlock)
    assert isinstance(updated, cst.IndentedBlock)
    replacement = replacement or {}
    body = [
        replacement.get(id(old), new)
        for old, new in zip(original.body, updated.body, strict=True)
        if id(old) not in removed
    ]
    if not body:
        body = [cst.SimpleStatementLine([cst.Pass()])]
    return updated.with_changes(body=body)


def remove_from_module(original: cst.Module, updated: cst.Module, removed: set[int]) -> cst.Module:
    body = [
        new for old, new in zip(original.body, updated.body, strict=True) if id(old) not in removed
    ]
    return updated.with_changes(body=body)


class MainPathEditor(cst.CSTTransformer):
    """Edit the block of the script's main path (the guard's body, ``main()``'s, or the
    module's): by default drop the statements whose ids are in ``removed``."""

    def __init__(self, main: Main, removed: set[int]) -> None:
        self.main = main
        self.removed = removed

    def edit_block(self, original: cst.BaseSuite, updated: cst.BaseSuite) -> cst.BaseSuite:
        return remove_from_block(original, updated, self.removed)

    def leave_If(self, original_node: cst.If, updated_node: cst.If) -> cst.If:
        if original_node is self.main.guard and self.main.kind == "guard":
            return updated_node.with_changes(
                body=self.edit_block(original_node.body, updated_node.body)
            )
        return updated_node

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        if original_node is self.main.function:
            return updated_node.with_changes(
                body=self.edit_block(original_node.body, updated_node.body)
            )
        return updated_node

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        return remove_from_module(original_node, updated_node, self.removed)
