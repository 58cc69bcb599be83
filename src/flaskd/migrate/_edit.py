"""Edits several rules share: declaring the service, adding hooks, TODOs; and the `Context`
that carries the file's one analysis from rule to rule."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal, TypeVar, cast

import libcst as cst

from ._imports import Statement, import_service, imports_service
from ._names import bound_names, dotted, enclosing, read_names, walk
from ._script import Analysis, Declined

S = TypeVar("S", bound=cst.CSTNode)
N = TypeVar("N", bound=cst.CSTNode)

SERVICE = "service"
TODO = "# TODO(flaskd): "


@dataclasses.dataclass
class Context:
    """What every rule is told: the env prefix to declare (None: let flaskd derive it), the
    file's one `Analysis`, and where each analysed node is now.

    The rules run in turn, each on the module the one before gave, but the analysis is of
    the module as it was: `now` follows a node through the rewrites since (each rewrite goes
    through `rewrite` or `replaced`, which remember what became of each node).
    """

    env_prefix: str | None
    analysis: Analysis
    #: Statement the service is declared after (in the analysed module).
    anchor: cst.BaseStatement | None = None
    #: The service's name and declaration, once there is one.
    service: str | None = None
    service_stmt: cst.SimpleStatementLine | None = None
    _moved: dict[int, tuple[cst.CSTNode, cst.CSTNode]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        script = self.analysis.script
        self.service, self.service_stmt = script.service, script.service_stmt

    def now(self, node: N) -> N:
        """What ``node`` (of the analysed module) has become."""
        current: cst.CSTNode = node
        while (moved := self._moved.get(id(current))) is not None and moved[0] is current:
            current = moved[1]
        return cast(N, current)

    def replaced(self, old: cst.CSTNode, new: N) -> N:
        """Remember that ``old`` became ``new``; returns ``new``."""
        self._moved[id(old)] = (old, new)
        return new

    def rewrite(
        self,
        module: cst.Module,
        transformer: cst.CSTTransformer,
        targets: Sequence[cst.CSTNode] | None = None,
    ) -> cst.Module:
        """``module.visit(transformer)``, remembering what became of each node; given the
        nodes it rewrites (``targets``), it goes only through the nodes that hold them, which
        is much faster than through all (LibCST rebuilds every node it goes through)."""
        inside = enclosing(module, targets) if targets is not None else None
        result = module.visit(_Tracking(transformer, self._moved, inside))
        assert isinstance(result, cst.Module)
        return result

    def replace(self, module: cst.Module, old: cst.CSTNode, new: cst.CSTNode) -> cst.Module:
        """``module.deep_replace(old, new)``, remembering what became of each node."""
        return self.rewrite(module, _Replace(old, new), [old])

    def index(self, module: cst.Module, stmt: cst.CSTNode) -> int:
        """Position in ``module`` of what the module-level ``stmt`` has become."""
        current = self.now(stmt)
        return next(i for i, s in enumerate(module.body) if s is current)

    def ids(self, nodes: Sequence[cst.CSTNode]) -> set[int]:
        """The ids of what ``nodes`` have become (to match a transformer's original nodes)."""
        return {id(self.now(n)) for n in nodes}


class _Tracking(cst.CSTTransformer):
    """Runs another transformer, remembering the node each original node became."""

    def __init__(
        self,
        inner: cst.CSTTransformer,
        moved: dict[int, tuple[cst.CSTNode, cst.CSTNode]],
        inside: set[int] | None,
    ) -> None:
        self.inner = inner
        self.moved = moved
        self.inside = inside

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.inside is not None and id(node) not in self.inside:
            return False
        return self.inner.on_visit(node)

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.inner.on_visit_attribute(node, attribute)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        self.inner.on_leave_attribute(original_node, attribute)

    def on_leave(self, original_node: Any, updated_node: Any) -> Any:
        result = self.inner.on_leave(original_node, updated_node)
        if isinstance(result, cst.CSTNode) and result is not original_node:
            self.moved[id(original_node)] = (original_node, result)
        return result


class _Replace(cst.CSTTransformer):
    def __init__(self, old: cst.CSTNode, new: cst.CSTNode) -> None:
        self.old, self.new = old, new

    def on_visit(self, node: cst.CSTNode) -> bool:
        return node is not self.old

    def on_leave(self, original_node: Any, updated_node: Any) -> Any:
        return self.new if original_node is self.old else updated_node


def statements(code: str) -> list[Statement]:
    return list(cst.parse_module(code).body)


def blank(stmt: S, lines: int) -> S:
    """``stmt`` with exactly ``lines`` blank lines before it (its comments kept)."""
    node: Any = stmt  # every statement has leading_lines, though no common base says so
    comments = [line for line in node.leading_lines if line.comment is not None]
    return cast(S, node.with_changes(leading_lines=[*[cst.EmptyLine()] * lines, *comments]))


def ensure_service(module: cst.Module, context: Context) -> tuple[cst.Module, str]:
    """Declare ``service = Service(app, ...)`` after the app if the module has none.

    Returns the module and the service's name.
    """
    if context.service is not None:
        return module, context.service
    script = context.analysis.script
    assert script.app is not None
    taken = bound_names(module.body)
    if SERVICE in taken:
        raise Declined(script.app_stmt, f"the name {SERVICE!r} is taken; flaskd needs it")
    if "Service" in taken and not imports_service(script.imports):
        raise Declined(script.app_stmt, "the name 'Service' is taken; flaskd needs it")
    prefix = f", env_prefix={context.env_prefix!r}".replace("'", '"') if context.env_prefix else ""
    code = f"{SERVICE} = Service({script.app}{prefix})\n"
    if "create_app" not in taken:
        code += f"create_app = {SERVICE}.create_app  # for servers that only call plain names\n"
    new = statements(code)
    new[0] = blank(new[0], 1)
    body = list(module.body)
    anchor = context.index(module, context.anchor or script.app_stmt or module.body[0])
    after = anchor + 1
    if after < len(body) and not any(line.comment is None for line in body[after].leading_lines):
        body[after] = context.replaced(
            body[after],
            body[after].with_changes(leading_lines=[cst.EmptyLine(), *body[after].leading_lines]),
        )
    body[after:after] = new
    if not imports_service(script.imports):
        import_service(body, anchor)
    service_stmt = new[0]
    assert isinstance(service_stmt, cst.SimpleStatementLine)
    context.service, context.service_stmt = SERVICE, service_stmt
    return module.with_changes(body=body), SERVICE


def after_service(module: cst.Module, context: Context) -> int:
    """Index after the service declaration and its ``create_app`` line."""
    assert context.service_stmt is not None
    at = context.index(module, context.service_stmt) + 1
    body = module.body
    while at < len(body) and _is_create_app(body[at], context.service or ""):
        at += 1
    return at


def _is_create_app(stmt: cst.BaseStatement, service: str) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Assign)
        and dotted(stmt.body[0].value) == f"{service}.create_app"
    )


def service_call(context: Context) -> cst.Call:
    assert context.service_stmt is not None
    small = context.now(context.service_stmt).body[0]
    assert isinstance(small, cst.Assign | cst.AnnAssign)
    assert isinstance(small.value, cst.Call)
    return small.value


def reflow_service(module: cst.Module, context: Context, width: int = 100) -> cst.Module:
    """Wrap the service declaration as black would, when it does not fit on one line."""
    if context.service_stmt is None:
        return module
    stmt = context.now(context.service_stmt)
    code = cst.Module([]).code_for_node
    line = code(stmt.with_changes(leading_lines=[])).rstrip("\n")
    if len(line) <= width or "\n" in line:
        return module
    call = service_call(context)
    head = line[: line.index("(") + 1]
    args = [code(a.with_changes(comma=cst.MaybeSentinel.DEFAULT)).strip() for a in call.args]
    inner = "    " + ", ".join(args)
    if len(inner) <= width:
        text = f"{head}\n{inner}\n)\n"
    else:
        text = head + "\n" + "".join(f"    {a},\n" for a in args) + ")\n"
    new = context.replaced(
        stmt, cst.parse_statement(text).with_changes(leading_lines=stmt.leading_lines)
    )
    body = [new if s is stmt else s for s in module.body]
    return module.with_changes(body=body)


def add_hook(
    module: cst.Module,
    context: Context,
    event: Literal["on_startup", "on_shutdown"],
    code: Sequence[cst.BaseStatement],
    *,
    names: Sequence[str],
    doc: str,
    globals_: Sequence[str] = (),
    placeholders: Sequence[str] = (),
    todos: Sequence[str] = (),
) -> cst.Module:
    """Move ``code`` off the main path into a new ``@service.<event>`` hook taking the app.

    The hook gets the first free name of ``names``, the docstring ``doc``, a ``global``
    statement for ``globals_`` and a TODO comment for each of ``todos``. It is declared right
    after the service (a shutdown hook after the start-up hook), below a ``name = None`` line
    for each of ``placeholders``.
    """
    script = context.analysis.script
    assert script.main is not None
    assert script.app is not None
    assert context.service is not None
    service = context.service
    name = free_name(bound_names(module.body), names)
    code_now = [context.now(s) for s in code]
    module = context.rewrite(module, MainPathEditor(context, code), code_now)
    code = [context.now(s) for s in code]  # as the rewrite left them, off the main path
    hook = cst.parse_statement(f"@{service}.{event}\ndef {name}({script.app}):\n    {doc}\n")
    assert isinstance(hook, cst.FunctionDef)
    assert isinstance(hook.body, cst.IndentedBlock)
    head: list[cst.BaseStatement] = [hook.body.body[0]]
    if globals_:
        head.append(cst.parse_statement(f"global {', '.join(globals_)}\n"))
    body = [*head, context.replaced(code[0], blank(code[0], 0)), *code[1:]]
    hook = blank(hook.with_changes(body=hook.body.with_changes(body=body)), 2)
    for todo in todos:
        hook = with_todo(hook, todo)
    new: list[Statement] = [cst.parse_statement(f"{p} = None\n") for p in placeholders]
    new.append(hook)

    statements = list(module.body)
    at = _hook_position(module, context, event, new)
    if placeholders:  # two blank lines after a def, one after a plain line
        after_def = not isinstance(statements[at - 1], cst.SimpleStatementLine)
        new[0] = blank(new[0], 2 if after_def else 1)
    if at < len(statements) and len(statements[at].leading_lines) < 2:
        statements[at] = context.replaced(statements[at], blank(statements[at], 2))
    statements[at:at] = new
    return module.with_changes(body=statements)


def _hook_position(
    module: cst.Module,
    context: Context,
    event: Literal["on_startup", "on_shutdown"],
    hook: Sequence[cst.CSTNode],
) -> int:
    """Where a new hook goes in ``module``: after the service, and after the module-level
    statements that bind a name the ``hook`` reads or assigns (a logger, a global, a helper),
    that configure the app (``app.config.from_object(...)``) or, for a shutdown hook, that are
    the start-up hook it usually mirrors; but above the main path, and a start-up hook above
    the other start-up hooks, which ran after the main path's code in the script."""
    script = context.analysis.script
    service = context.service or ""
    body = module.body
    at = after_service(module, context)
    main = script.main
    assert main is not None
    end = len(body)
    for part in (main.guard, main.function):
        if part is not None and any(s is context.now(part) for s in body):
            end = min(end, context.index(module, part))
    if event == "on_startup":
        hooks = (i for i in range(at, end) if _is_hook(body[i], service, "on_startup"))
        end = next(hooks, end)
    names = {n.value for node in hook for n in read_names(node)}
    names.discard(script.app or "")
    for i in range(at, end):
        stmt = body[i]
        if (
            bound_names([stmt]) & names
            or _configures(stmt, script.app or "")
            or (event == "on_shutdown" and _is_startup_hook(stmt, service))
        ):
            at = i + 1
    # not between two lines of one paragraph (``log = ...`` right below ``app.config...``)
    while at < end and _joined(body[at]):
        at += 1
    return at


def _joined(stmt: cst.BaseStatement) -> bool:
    """A plain line right below the one before it: no blank line between them."""
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        line.comment is not None for line in stmt.leading_lines
    )


def _configures(stmt: cst.BaseStatement, app: str) -> bool:
    """A module-level ``app.config...`` statement or ``app.<attribute> = ...``."""
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    for node in walk(stmt):
        if isinstance(node, cst.Attribute) and dotted(node) == f"{app}.config":
            return True
        target = node.target if isinstance(node, cst.AssignTarget) else None
        if isinstance(target, cst.Attribute) and dotted(target.value) == app:
            return True
    return False


def _is_hook(stmt: cst.BaseStatement, service: str, event: str) -> bool:
    return isinstance(stmt, cst.FunctionDef) and any(
        cst.Module([]).code_for_node(d.decorator) == f"{service}.{event}" for d in stmt.decorators
    )


def _is_startup_hook(stmt: cst.BaseStatement, service: str) -> bool:
    if isinstance(stmt, cst.SimpleStatementLine):  # a ``name = None`` placeholder
        return all(isinstance(s, cst.Assign) and dotted(s.value) == "None" for s in stmt.body)
    return _is_hook(stmt, service, "on_startup")


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
    module's): by default drop the statements in ``removed`` (of the analysed module)."""

    def __init__(self, context: Context, removed: Sequence[cst.CSTNode]) -> None:
        main = context.analysis.script.main
        assert main is not None
        self.kind = main.kind
        self.guard = context.now(main.guard) if main.guard is not None else None
        self.function = context.now(main.function) if main.function is not None else None
        self.removed = context.ids(removed)

    def edit_block(self, original: cst.BaseSuite, updated: cst.BaseSuite) -> cst.BaseSuite:
        return remove_from_block(original, updated, self.removed)

    def leave_If(self, original_node: cst.If, updated_node: cst.If) -> cst.If:
        if original_node is self.guard and self.kind == "guard":
            return updated_node.with_changes(
                body=self.edit_block(original_node.body, updated_node.body)
            )
        return updated_node

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        if original_node is self.function:
            return updated_node.with_changes(
                body=self.edit_block(original_node.body, updated_node.body)
            )
        return updated_node

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        return remove_from_module(original_node, updated_node, self.removed)
