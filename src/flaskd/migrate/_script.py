"""What every rule shares about a script: its app, its service, its main path; and the one
`Analysis` of a file that the rules read their own facts from.

Each rule detects what it rewrites, in its own module, as a function of the `Analysis`
(``analysis.get(find_run)``); a fact is computed once per analysis, however many rules
read it. Whatever cannot be mapped safely raises `Declined`, naming the node at fault.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, Literal, TypeVar

import libcst as cst
from libcst.metadata import BuiltinScope, GlobalScope, MetadataWrapper, Scope, ScopeProvider

from ._names import Imports, bound_names, dotted, is_variable, string_value, walk, walk_parents

T = TypeVar("T")


class Declined(Exception):
    """The script has something flaskd migrate cannot convert safely."""

    def __init__(self, node: cst.CSTNode | None, reason: str) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason


@dataclasses.dataclass
class Main:
    """The code that runs only as a script."""

    kind: Literal["guard", "function", "module"]
    #: The ``if __name__ == "__main__":`` statement, if there is one.
    guard: cst.If | None
    #: The ``main()`` function the guard calls, for kind "function".
    function: cst.FunctionDef | None
    body: list[cst.BaseStatement]


@dataclasses.dataclass
class Script:
    """The facts every rule needs: the app, the service, the main path."""

    module: cst.Module
    imports: Imports
    flask: bool
    #: Every call in the module, found once (walking a LibCST tree is the slow part).
    calls: list[cst.Call] = dataclasses.field(default_factory=list)
    #: Every ``Name`` node in the module, by name.
    names: dict[str, list[cst.Name]] = dataclasses.field(default_factory=dict)
    app: str | None = None
    app_stmt: cst.BaseStatement | None = None
    service: str | None = None
    service_stmt: cst.SimpleStatementLine | None = None
    main: Main | None = None
    #: A ``main()`` that takes its options from click (the click rule converts it first).
    click: cst.FunctionDef | None = None

    @property
    def argparse(self) -> bool:
        """The main path can be read: an app, and no click left to convert first."""
        return self.app is not None and self.main is not None and self.click is None

    #: The node each node is in, by id, from the walk that found the calls and names.
    parents: dict[int, cst.CSTNode] = dataclasses.field(default_factory=dict)
    #: LibCST's scope of each node, resolved when first needed, by the statements resolved
    #: (the ids of those that mention the name asked about: several names share them).
    _scopes: dict[tuple[int, ...], Mapping[cst.CSTNode, Scope | None]] = dataclasses.field(
        default_factory=dict
    )
    _mentions: dict[str | None, tuple[int, ...]] = dataclasses.field(default_factory=dict)

    def index(self, stmt: cst.CSTNode) -> int:
        """Position of a module-level statement."""
        return next(i for i, s in enumerate(self.module.body) if s is stmt)

    def scope(self, node: cst.CSTNode) -> Scope | None:
        """The scope ``node`` is in (`libcst.metadata.ScopeProvider`); for a ``Name``, one
        that knows every binding of that name, but not necessarily of others."""
        name = node.value if isinstance(node, cst.Name) and self.parents else None
        if name not in self._mentions:
            module = self._mentioning(name)
            self._mentions[name] = key = tuple(id(s) for s in module.body)
            if key not in self._scopes:
                # unsafe_skip_copy: the metadata must be about these very nodes
                wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
                self._scopes[key] = wrapper.resolve(ScopeProvider)
        return self._scopes[self._mentions[name]].get(node)

    def _mentioning(self, name: str | None) -> cst.Module:
        """The module with only the statements where ``name`` appears: the others neither bind
        nor read it (a star import binds nothing for LibCST either), and resolving scopes
        takes time in proportion to the code."""
        if name is None:
            return self.module
        tops = {id(self.ancestors(n)[1]) for n in self.names.get(name, [])}
        return self.module.with_changes(body=[s for s in self.module.body if id(s) in tops])

    def ancestors(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        """The nodes ``node`` is in, outermost first."""
        chain = []
        while (parent := self.parents.get(id(node))) is not None:
            chain.append(parent)
            node = parent
        return chain[::-1]


class Analysis:
    """One file's analysis: the shared `Script`, and each rule's facts computed on demand,
    once (``get(find_parser)``). Rules read it; they never change it."""

    def __init__(self, module: cst.Module) -> None:
        self.script = _find_script(module)
        self._facts: dict[Callable[[Analysis], Any], Any] = {}

    def get(self, detect: Callable[[Analysis], T]) -> T:
        if detect not in self._facts:
            self._facts[detect] = detect(self)
        result: T = self._facts[detect]
        return result


def _find_script(module: cst.Module) -> Script:
    imports = Imports(module)
    script = Script(module, imports, flask=imports.imports_module("flask"))
    if not script.flask:
        return script
    # One walk for what the rules ask about. libcst.metadata's ParentNodeProvider would give
    # the parents too, but visiting a LibCST tree costs ten times this walk.
    for node, parent in walk_parents(module):
        script.parents[id(node)] = parent
        if isinstance(node, cst.Call):
            script.calls.append(node)
        elif isinstance(node, cst.Name):
            script.names.setdefault(node.value, []).append(node)
    _find_app(script)
    if script.app is not None:
        _find_service(script)
        _find_main(script)
    return script


def calls(node: cst.CSTNode) -> list[cst.Call]:
    """Every call in ``node``, in source order."""
    return [n for n in walk(node) if isinstance(n, cst.Call)]


def contains(tree: cst.CSTNode, node: cst.CSTNode) -> bool:
    return any(n is node for n in walk(tree))


def assigned_call(stmt: cst.BaseStatement) -> tuple[str, cst.Call] | None:
    """``(name, call)`` for a statement ``name = call(...)``."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target, value = small.targets[0].target, small.value
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        target, value = small.target, small.value
    else:
        return None
    if isinstance(target, cst.Name) and isinstance(value, cst.Call):
        return target.value, value
    return None


def is_docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


# -- the app and the service ------------------------------------------------------------------


def _find_app(script: Script) -> None:
    for stmt in script.module.body:
        found = assigned_call(stmt)
        if found and script.imports.qualify(found[1].func) == "flask.Flask":
            if script.app is not None:
                raise Declined(stmt, "two Flask apps at module level; migrate one script per app")
            script.app, script.app_stmt = found[0], stmt
    if script.app is not None:
        return
    flask_calls = [c for c in script.calls if script.imports.qualify(c.func) == "flask.Flask"]
    if flask_calls and (_guard(script.module) is not None or _has_run(script)):
        raise Declined(
            flask_calls[0], "the app is not a module-level flask.Flask(...); nothing to attach to"
        )


def _has_run(script: Script) -> bool:
    return any(
        isinstance(c.func, cst.Attribute) and c.func.attr.value == "run" for c in script.calls
    )


def _find_service(script: Script) -> None:
    for stmt in script.module.body:
        found = assigned_call(stmt)
        if found and script.imports.qualify(found[1].func) == "flaskd.Service":
            args = found[1].args
            if not args or dotted(args[0].value) != script.app:
                raise Declined(stmt, f"a Service that does not wrap {script.app}")
            assert isinstance(stmt, cst.SimpleStatementLine)
            script.service, script.service_stmt = found[0], stmt


# -- the main path ------------------------------------------------------------------------------


def _is_main_test(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    sides = {dotted(test.left), dotted(target.comparator)}
    strings = {string_value(test.left), string_value(target.comparator)}
    return isinstance(target.operator, cst.Equal) and "__name__" in sides and "__main__" in strings


def _guard(module: cst.Module) -> cst.If | None:
    guards = [s for s in module.body if isinstance(s, cst.If) and _is_main_test(s.test)]
    if len(guards) > 1:
        raise Declined(guards[1], "two `if __name__ == '__main__':` blocks")
    return guards[0] if guards else None


def _called_main(script: Script, body: list[cst.BaseStatement]) -> cst.FunctionDef | None:
    """The module-level function a guard only calls: ``main()``, ``sys.exit(main())``..."""
    if len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine):
        return None
    small = body[0].body[0] if len(body[0].body) == 1 else None
    if isinstance(small, cst.Expr):
        value = small.value
    elif isinstance(small, cst.Raise) and small.exc is not None:
        value = small.exc
    else:
        return None
    if isinstance(value, cst.Call) and dotted(value.func) in ("sys.exit", "exit", "SystemExit"):
        value = value.args[0].value if len(value.args) == 1 else value
    if not isinstance(value, cst.Call) or value.args or not isinstance(value.func, cst.Name):
        return None
    name = value.func.value
    functions = [
        s for s in script.module.body if isinstance(s, cst.FunctionDef) and s.name.value == name
    ]
    if len(functions) != 1:
        return None
    return functions[0]


def _find_main(script: Script) -> None:
    guard = _guard(script.module)
    if guard is None:
        script.main = Main("module", None, None, list(script.module.body))
        return
    if guard.orelse is not None:
        raise Declined(guard.orelse, "an `else:` on the `__main__` block")
    body = list(guard.body.body) if isinstance(guard.body, cst.IndentedBlock) else []
    function = _called_main(script, body)
    if function is None:
        script.main = Main("guard", guard, None, body)
        return
    if function.decorators:
        decorator = function.decorators[0].decorator
        if isinstance(decorator, cst.Call):
            decorator = decorator.func
        what = dotted(decorator) or "a decorator"
        if script.imports.qualify(decorator) == "click.command":
            script.click = function
            return
        if "click" in what or "command" in what:
            raise Declined(function, f"{function.name.value}() takes its options from click")
        raise Declined(function, f"{function.name.value}() is decorated with {what}")
    params = function.params
    if params.params or params.star_arg != cst.MaybeSentinel.DEFAULT or params.kwonly_params:
        raise Declined(function, f"{function.name.value}() takes arguments")
    if isinstance(params.star_kwarg, cst.Param) or params.posonly_params:
        raise Declined(function, f"{function.name.value}() takes arguments")
    inner = list(function.body.body) if isinstance(function.body, cst.IndentedBlock) else []
    script.main = Main("function", guard, function, inner)


# -- moving main-path code ----------------------------------------------------------------------


class _Returns(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: cst.CSTNode | None = None

    def visit_Return(self, node: cst.Return) -> None:
        self.found = self.found or node

    def visit_Yield(self, node: cst.Yield) -> None:
        self.found = self.found or node

    def visit_Await(self, node: cst.Await) -> None:
        self.found = self.found or node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def check_movable(script: Script, stmt: cst.BaseStatement) -> None:
    visitor = _Returns()
    stmt.visit(visitor)
    if visitor.found is not None:
        raise Declined(visitor.found, "a `return`, `yield` or `await` on the main path")
    if script.app in bound_names([stmt]):
        raise Declined(stmt, f"the main path rebinds {script.app}")


def variables(
    script: Script, name: str, skip: Collection[cst.CSTNode | None] = ()
) -> Iterator[tuple[cst.Name, list[cst.CSTNode]]]:
    """Every ``Name`` node for ``name`` that is a variable, with its ancestors (outermost
    first), not inside the nodes of ``skip``: an attribute's name, a keyword, a parameter's own
    name or a module an import reads from is no variable."""
    skipped = {id(s) for s in skip if s is not None}
    for node in script.names.get(name, []):
        ancestors = script.ancestors(node)
        chain = [*ancestors, node]
        if any(id(a) in skipped for a in chain):
            continue
        if all(is_variable(child, parent) for parent, child in itertools.pairwise(chain)):
            yield node, ancestors


def visible_names(
    script: Script,
    name: str,
    *skip: cst.CSTNode | None,
    within: cst.FunctionDef | None = None,
) -> list[tuple[cst.Name, list[cst.CSTNode]]]:
    """The `variables` ``name`` that are the module's or main()'s (with ``within``: that
    function's, in its body); a local of another scope is another variable."""
    keep = {id(within)}
    if within is None and script.main is not None and script.main.function is not None:
        keep.add(id(script.main.function))
    found = []
    for node, ancestors in variables(script, name, skip):
        if within is not None and not any(a is within.body for a in ancestors):
            continue
        scope = script.scope(node)
        if scope is None:
            continue
        bindings = scope[name]
        if within is not None and not bindings:
            continue
        if all(
            within is None
            if isinstance(b.scope, GlobalScope | BuiltinScope)
            else id(getattr(b.scope, "node", None)) in keep
            for b in bindings
        ):
            found.append((node, ancestors))
    return found
