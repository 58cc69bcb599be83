"""Small syntax helpers: dotted names, imports, and the names a piece of code binds or reads."""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Iterable, Iterator

import libcst as cst

BUILTINS = frozenset(dir(builtins))


def walk(
    node: cst.CSTNode, leaves: type[cst.CSTNode] | tuple[type[cst.CSTNode], ...] = ()
) -> Iterator[cst.CSTNode]:
    """``node`` and all its descendants, in source order, read-only; nodes of the types in
    ``leaves`` are yielded but not looked into.

    Several times faster than a `libcst.CSTVisitor`, which rebuilds every node it passes.
    """
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if not isinstance(current, leaves):
            stack.extend(reversed(_children(current)))


def walk_parents(root: cst.CSTNode) -> Iterator[tuple[cst.CSTNode, cst.CSTNode]]:
    """Each node below ``root``, in source order, with the node it is in."""
    stack = [(child, root) for child in reversed(_children(root))]
    while stack:
        node, parent = stack.pop()
        yield node, parent
        stack.extend((child, node) for child in reversed(_children(node)))


#: Each node class's field names, read once (`dataclasses.fields` is slow in a hot loop).
_FIELDS: dict[type, tuple[str, ...]] = {}
#: For each type a field's value has: 1 a node, 2 a sequence, 0 neither (an isinstance check
#: against CSTNode, an abstract class, costs more than the rest of the walk).
_KINDS: dict[type, int] = {}


def _kind(value: object) -> int:
    kind = _KINDS.get(type(value))
    if kind is None:
        t = type(value)
        kind = 1 if issubclass(t, cst.CSTNode) else 2 if issubclass(t, tuple | list) else 0
        _KINDS[t] = kind
    return kind


def _children(node: cst.CSTNode) -> list[cst.CSTNode]:
    names = _FIELDS.get(type(node))
    if names is None:
        names = _FIELDS[type(node)] = tuple(f.name for f in dataclasses.fields(node))
    children: list[cst.CSTNode] = []
    for name in names:
        value = getattr(node, name)
        kind = _kind(value)
        if kind == 1:
            children.append(value)
        elif kind == 2:
            children.extend(v for v in value if _kind(v) == 1)
    return children


def enclosing(root: cst.CSTNode, targets: Iterable[cst.CSTNode]) -> set[int]:
    """The ids of the nodes in ``root`` (itself included) that hold one of ``targets``: all
    a transformer that rewrites only the targets needs to go through."""
    wanted = {id(t) for t in targets}
    parents: dict[int, cst.CSTNode] = {}
    found: set[int] = set()
    stack = [root]
    while stack and wanted:
        node = stack.pop()
        if id(node) in wanted:
            wanted.discard(id(node))
            parent = parents.get(id(node))
            while parent is not None and id(parent) not in found:
                found.add(id(parent))
                parent = parents.get(id(parent))
            continue
        for child in _children(node):
            parents[id(child)] = node
            stack.append(child)
    return found


def dotted(node: cst.CSTNode) -> str | None:
    """``"a.b.c"`` for ``a.b.c``, None for anything that is not a plain dotted name."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def string_value(node: cst.CSTNode | None) -> str | None:
    """The value of a plain string literal (no f-string, no concatenation), else None."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def string_quote(ancestors: Iterable[cst.CSTNode]) -> str | None:
    """The quote for a string literal put below ``ancestors`` (outermost first), valid on
    Python 3.11: ``"``, but ``'`` inside ``f"..."``; None when no quote is valid there.

    Before 3.12 an f-string's replacement fields cannot hold the quote that delimits it, nor
    that of any f-string around it (``f'{f"{x}"}'``). A triple-quoted f-string's own quote
    character is valid in them, but the other one is chosen when it can be.
    """
    fstrings = [n.start for n in ancestors if isinstance(n, cst.FormattedString)]
    forbidden = {s[-1] for s in fstrings if not s.endswith(3 * s[-1])}
    avoided = {s[-1] for s in fstrings}
    quotes = sorted(('"', "'"), key=lambda q: (q in forbidden, q in avoided))
    return quotes[0] if quotes[0] not in forbidden else None


def fstring_quotes_reason(code: str) -> str:
    """Why ``code`` cannot become a config read: it sits in f-strings that take no quote."""
    return (
        f"{code} is in an f-string in an f-string, quoted with ' and \" in turn: no quote for"
        " its config key is valid there before Python 3.12; read it into a variable first"
    )


class Imports:
    """What module-level imports bind: local name to qualified name (``Flask``: ``flask.Flask``)."""

    def __init__(self, module: cst.Module) -> None:
        self.names: dict[str, str] = {}
        for stmt in import_lines(module.body):
            for small in stmt.body:
                if isinstance(small, cst.Import):
                    for alias in small.names:
                        full = dotted(alias.name) or ""
                        if alias.asname is not None:
                            self.names[_alias(alias)] = full
                        else:
                            top = full.partition(".")[0]
                            self.names[top] = top
                elif isinstance(small, cst.ImportFrom) and small.module is not None:
                    if small.relative or isinstance(small.names, cst.ImportStar):
                        continue
                    base = dotted(small.module) or ""
                    for alias in small.names:
                        self.names[_alias(alias)] = f"{base}.{dotted(alias.name)}"

    def qualify(self, node: cst.CSTNode) -> str | None:
        """The qualified name of a dotted expression, resolved through the imports."""
        name = dotted(node)
        if name is None:
            return None
        head, dot, rest = name.partition(".")
        if head not in self.names:
            return None
        return self.names[head] + dot + rest

    def imports_module(self, top: str) -> bool:
        return any(q == top or q.startswith(top + ".") for q in self.names.values())


def import_lines(body: Iterable[cst.BaseStatement]) -> Iterator[cst.SimpleStatementLine]:
    """The module-level simple statements, and those in a module-level ``try:`` (``try: from
    flask import Flask`` / ``except ImportError: ...`` imports at module level too)."""
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield stmt
        elif isinstance(stmt, cst.Try):
            blocks = [stmt.body, *(h.body for h in stmt.handlers)]
            blocks += [b.body for b in (stmt.orelse, stmt.finalbody) if b is not None]
            for block in blocks:
                if isinstance(block, cst.IndentedBlock):
                    yield from (s for s in block.body if isinstance(s, cst.SimpleStatementLine))


def _alias(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return (dotted(alias.name) or "").partition(".")[0]


class _Bound:
    """Names bound in the scope being read (a nested def or class binds only its own name)."""

    #: What binds in a scope of its own: not looked into.
    SCOPES = (
        cst.FunctionDef,
        cst.ClassDef,
        cst.Lambda,
        cst.ListComp,
        cst.SetComp,
        cst.DictComp,
        cst.GeneratorExp,
    )

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.globals: set[str] = set()

    def read(self, node: cst.CSTNode) -> None:
        for child in walk(node, leaves=self.SCOPES):
            visit = getattr(self, f"visit_{type(child).__name__}", None)
            if visit is not None:
                visit(child)

    def _target(self, node: cst.BaseExpression) -> None:
        if isinstance(node, cst.Name):
            self.names.add(node.value)
        elif isinstance(node, cst.Tuple | cst.List):
            for element in node.elements:
                self._target(element.value)
        elif isinstance(node, cst.StarredElement):
            self._target(node.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        if isinstance(node.name, cst.Name | cst.Tuple | cst.List):
            self._target(node.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._target(node.target)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            if alias.asname is None:
                self.names.add((dotted(alias.name) or "").partition(".")[0])

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                if alias.asname is None:
                    self.names.add(dotted(alias.name) or "")

    def visit_Global(self, node: cst.Global) -> None:
        self.globals.update(item.name.value for item in node.names)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.names.add(node.name.value)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.names.add(node.name.value)


def bound_names(nodes: Iterable[cst.CSTNode]) -> set[str]:
    """Names that running these statements binds in the enclosing scope."""
    visitor = _Bound()
    for node in nodes:
        visitor.read(node)
    return visitor.names


def declared_global(nodes: Iterable[cst.CSTNode]) -> set[str]:
    """Names these statements declare ``global`` (not looking into nested defs)."""
    visitor = _Bound()
    for node in nodes:
        visitor.read(node)
    return visitor.globals


def local_names(func: cst.FunctionDef) -> set[str]:
    """The local names of a function: its parameters and what it binds, minus its globals."""
    params = func.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            every.append(star)
    visitor = _Bound()
    visitor.read(func.body)
    return ({p.name.value for p in every} | visitor.names) - visitor.globals


def is_variable(node: cst.CSTNode, parent: cst.CSTNode | None) -> bool:
    """False for a child of ``parent`` that names no variable of the scope ``parent`` is in: an
    attribute's name (``request.args``), a keyword (``f(args=1)``), a parameter (a local of
    its function), the module an import reads from (``from args import x``) or a name it
    imports under another (``import args as a``)."""
    if isinstance(parent, cst.Param):
        return node is not parent.name
    if isinstance(parent, cst.Attribute):
        return node is not parent.attr
    if isinstance(parent, cst.Arg):
        return node is not parent.keyword
    if isinstance(parent, cst.ImportFrom):
        return node is not parent.module
    if isinstance(parent, cst.ImportAlias):
        return node is not parent.name or parent.asname is None
    return True


class _Reads(cst.CSTVisitor):
    """Every ``Name`` that is not a binding, an attribute name, a keyword or part of an import."""

    def __init__(self, skip_bodies: bool) -> None:
        self.nodes: list[cst.Name] = []
        self.skip_bodies = skip_bodies

    def visit_Name(self, node: cst.Name) -> None:
        self.nodes.append(node)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Param(self, node: cst.Param) -> bool:
        if node.default is not None:
            node.default.visit(self)
        if node.annotation is not None:
            node.annotation.visit(self)
        return False

    def visit_ImportAlias(self, node: cst.ImportAlias) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        for decorator in node.decorators:
            decorator.visit(self)
        node.params.visit(self)
        if not self.skip_bodies:
            node.body.visit(self)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        for decorator in node.decorators:
            decorator.visit(self)
        for arg in (*node.bases, *node.keywords):
            arg.visit(self)
        node.body.visit(self)  # a class body runs when the class statement does
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        node.params.visit(self)
        return not self.skip_bodies

    def visit_Global(self, node: cst.Global) -> bool:
        return False


def read_names(node: cst.CSTNode, *, at_import: bool = False) -> list[cst.Name]:
    """Name nodes read (or stored) in ``node``; ``at_import`` leaves out function bodies,
    which do not run when the statement does."""
    visitor = _Reads(skip_bodies=at_import)
    node.visit(visitor)
    return visitor.nodes
