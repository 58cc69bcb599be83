"""What a script looks like: its app, its parser, its main path, its server call.

Every rule reads the same `Facts`, computed (once) for the module it is given,
so each rule sees the work of the rules before it. Whatever cannot be mapped
safely raises `Declined`, naming the node at fault.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Literal

import libcst as cst

from ._names import (
    BUILTINS,
    Imports,
    bound_names,
    dotted,
    fstring_quotes_reason,
    is_variable,
    local_names,
    read_names,
    scope_of,
    string_quote,
    string_value,
    walk,
)

PARSERS = {"argparse.ArgumentParser": "argparse", "optparse.OptionParser": "optparse"}
#: Parser methods whose statements move with the parser (they only declare options).
DECLARING = {
    "add_argument",
    "add_option",
    "add_argument_group",
    "add_mutually_exclusive_group",
    "set_defaults",
    "set_usage",
}
#: Parser methods init code may still call once the parser is module-level.
USABLE = {"error", "print_help", "print_usage", "exit", "format_help", "format_usage"}
#: Calls that serve the app some other way than app.run.
SERVERS = {"serve", "run_simple", "make_server", "WSGIServer", "serve_forever", "run"}
#: app.run keywords that only tune Flask's development server.
DEV_ONLY = {
    "use_reloader",
    "use_debugger",
    "use_evalex",
    "threaded",
    "extra_files",
    "exclude_patterns",
    "reloader_type",
    "reloader_interval",
    "passthrough_errors",
    "load_dotenv",
}
RUN_POSITIONAL = ("host", "port", "debug", "load_dotenv")
ADDRESS = {"--host": "host", "--port": "port"}


class Declined(Exception):
    """The script has something flaskd migrate cannot convert safely."""

    def __init__(self, node: cst.CSTNode | None, reason: str) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason


@dataclasses.dataclass
class Option:
    """One ``add_argument``/``add_option`` call."""

    stmt: cst.SimpleStatementLine
    call: cst.Call
    flags: list[str]
    dest: str
    #: The serving setting this option gives (``--host``/``--port``), if any.
    address: str | None


@dataclasses.dataclass
class Parser:
    """The script's argparse or optparse parser."""

    kind: Literal["argparse", "optparse"]
    name: str
    #: Names that refer to the parser or one of its argument groups.
    aliases: set[str]
    create: cst.SimpleStatementLine
    #: Every statement that builds it: creation, add_argument, groups, set_defaults.
    statements: list[cst.SimpleStatementLine]
    options: list[Option]
    #: True when the parser is built at module level, False when on the main path.
    at_module_level: bool
    parse: cst.SimpleStatementLine | None = None
    #: The name ``parse_args()`` is assigned to (``args``).
    namespace: str | None = None
    #: optparse's list of positional arguments, when ``(opts, args) = parse_args()``.
    positional: str | None = None
    #: The module-level function that builds it (``def parse(): ...``), removed once it moved.
    helper: cst.FunctionDef | None = None
    #: The parser's name inside the helper, when the main path calls it something else.
    local: str | None = None
    #: ``parser = build_parser()`` on the main path, removed once the parser moved.
    handoff: cst.SimpleStatementLine | None = None

    def key(self, dest: str) -> str | None:
        """The config key the option with this ``dest`` is read from."""
        for option in self.options:
            if option.dest == dest:
                return (option.address or dest).upper()
        return None


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
class Run:
    """The ``app.run(...)`` call and what its arguments map to."""

    stmt: cst.SimpleStatementLine
    call: cst.Call
    #: Serving defaults: setting name -> expression (a literal or a module-level expression).
    serve: dict[str, cst.BaseExpression]
    #: Options that give the address under another flag: setting -> option (gets an alias).
    alias: dict[str, Option]
    #: ``debug=`` was given something other than the script's own ``--debug``.
    debug: bool


@dataclasses.dataclass
class Facts:
    module: cst.Module
    imports: Imports
    flask: bool
    #: Every call in the module, found once (walking a LibCST tree is the slow part).
    calls: list[cst.Call] = dataclasses.field(default_factory=list)
    app: str | None = None
    app_stmt: cst.BaseStatement | None = None
    service: str | None = None
    service_stmt: cst.SimpleStatementLine | None = None
    main: Main | None = None
    #: A ``main()`` that takes its options from click (the click rule converts it first).
    click: cst.FunctionDef | None = None
    parser: Parser | None = None
    run: Run | None = None
    #: Module-level functions decorated with ``@app.before_first_request`` and the like.
    first_request: list[cst.FunctionDef] = dataclasses.field(default_factory=list)
    #: Blueprint hooks that cannot be converted here (the module holds no app).
    orphan_first_request: list[cst.FunctionDef] = dataclasses.field(default_factory=list)
    #: Main-path statements that are init code (become the start-up hook).
    init: list[cst.BaseStatement] = dataclasses.field(default_factory=list)
    #: Main-path statements after ``app.run()`` (become the shutdown hook).
    shutdown: list[cst.BaseStatement] = dataclasses.field(default_factory=list)
    #: ``app.config["DB"] = args.db``: what flaskd now does itself; the parser rule drops them.
    copies: list[cst.BaseStatement] = dataclasses.field(default_factory=list)
    #: Reads of the parsed options: (the Name node, the config key or None for ``vars``).
    reads: list[Read] = dataclasses.field(default_factory=list)

    def index(self, stmt: cst.CSTNode) -> int:
        """Position of a module-level statement."""
        return next(i for i, s in enumerate(self.module.body) if s is stmt)

    def anchor(self) -> int:
        """Index of the module-level statement the service is declared after."""
        indices = [self.index(self.app_stmt)] if self.app_stmt is not None else [0]
        if self.parser is not None:
            top = [s for s in self.parser.statements if s in self.module.body]
            indices += [self.index(s) for s in top]
            moving = [s for s in self.parser.statements if s not in self.module.body]
            indices += self._bindings_before(moving)
        if self.run is not None:
            for expr in self.run.serve.values():
                indices += self._bindings_before([expr])
        return max(indices)

    def _bindings_before(self, nodes: Sequence[cst.CSTNode]) -> list[int]:
        """Indices of module-level statements binding the names ``nodes`` read."""
        wanted = {n.value for node in nodes for n in read_names(node)}
        return [
            i
            for i, stmt in enumerate(self.module.body)
            if stmt is not (self.main.guard if self.main else None) and bound_names([stmt]) & wanted
        ]

    def needs(self) -> set[str]:
        """The main-path rules this script needs, by rule id."""
        needed = set()
        if self.parser is not None and self.parser.parse is not None:
            needed.add("parser")
            if self.parser.kind == "optparse":
                needed.add("optparse")
        if self.reads:
            needed.add("options")
        if self.init:
            needed.add("startup")
        if self.shutdown:
            needed.add("shutdown")
        if self.run is not None:
            needed.add("serve")
        return needed


@dataclasses.dataclass
class Read:
    """One read of the parsed options, and the config key it becomes."""

    name: cst.Name
    #: The expression to replace (``args.db``, ``vars(args)["db"]``, ``getattr(args, "db")``).
    expr: cst.BaseExpression
    key: str
    #: For ``getattr(args, "x", default)``: the default.
    default: cst.BaseExpression | None = None
    #: The mapping read instead, when not the app's config: a helper's parameter.
    mapping: str | None = None
    #: The options passed whole to a helper (``init_db(args)``): becomes ``app.config``.
    whole: bool = False
    #: The quote for the key, valid where the read is (``'`` inside ``f"..."``).
    quote: str = '"'


@functools.lru_cache(maxsize=1)
def analyze(module: cst.Module) -> Facts:
    """Read the facts every rule needs; raise `Declined` for what cannot be mapped.

    Cached for the last module: rules and edits ask again about the module they were given,
    and a module never changes (an edit makes a new one; nodes hash by identity). The `Facts`
    are shared: never change them.
    """
    imports = Imports(module)
    facts = Facts(module, imports, flask=imports.imports_module("flask"))
    if not facts.flask:
        return facts
    facts.calls = calls(module)
    _find_app(facts)
    _find_first_request(facts)
    if facts.app is None:
        return facts
    _find_service(facts)
    _find_main(facts)
    if facts.click is not None:
        return facts  # the rest is read once the click rule made it argparse
    _find_parser(facts)
    _check_other_servers(facts)
    if facts.parser is None:
        _decline_other_parsing(facts)
    _find_run(facts)
    _find_init(facts)
    _find_reads(facts)
    _check_order(facts)
    return facts


# -- the app and the service ------------------------------------------------------------------


def _assigned_call(stmt: cst.BaseStatement) -> tuple[str, cst.Call] | None:
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


def calls(node: cst.CSTNode) -> list[cst.Call]:
    """Every call in ``node``, in source order."""
    return [n for n in walk(node) if isinstance(n, cst.Call)]


def _find_app(facts: Facts) -> None:
    for stmt in facts.module.body:
        found = _assigned_call(stmt)
        if found and facts.imports.qualify(found[1].func) == "flask.Flask":
            if facts.app is not None:
                raise Declined(stmt, "two Flask apps at module level; migrate one script per app")
            facts.app, facts.app_stmt = found[0], stmt
    if facts.app is not None:
        return
    flask_calls = [c for c in facts.calls if facts.imports.qualify(c.func) == "flask.Flask"]
    if flask_calls and (_guard(facts.module) is not None or _has_run(facts)):
        raise Declined(
            flask_calls[0], "the app is not a module-level flask.Flask(...); nothing to attach to"
        )


def _has_run(facts: Facts) -> bool:
    return any(
        isinstance(c.func, cst.Attribute) and c.func.attr.value == "run" for c in facts.calls
    )


def _find_service(facts: Facts) -> None:
    for stmt in facts.module.body:
        found = _assigned_call(stmt)
        if found and facts.imports.qualify(found[1].func) == "flaskd.Service":
            args = found[1].args
            if not args or dotted(args[0].value) != facts.app:
                raise Declined(stmt, f"a Service that does not wrap {facts.app}")
            assert isinstance(stmt, cst.SimpleStatementLine)
            facts.service, facts.service_stmt = found[0], stmt


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


def _called_main(facts: Facts, body: list[cst.BaseStatement]) -> cst.FunctionDef | None:
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
        s for s in facts.module.body if isinstance(s, cst.FunctionDef) and s.name.value == name
    ]
    if len(functions) != 1:
        return None
    return functions[0]


def _find_main(facts: Facts) -> None:
    guard = _guard(facts.module)
    if guard is None:
        facts.main = Main("module", None, None, list(facts.module.body))
        return
    if guard.orelse is not None:
        raise Declined(guard.orelse, "an `else:` on the `__main__` block")
    body = list(guard.body.body) if isinstance(guard.body, cst.IndentedBlock) else []
    function = _called_main(facts, body)
    if function is None:
        facts.main = Main("guard", guard, None, body)
        return
    if function.decorators:
        decorator = function.decorators[0].decorator
        if isinstance(decorator, cst.Call):
            decorator = decorator.func
        what = dotted(decorator) or "a decorator"
        if facts.imports.qualify(decorator) == "click.command":
            facts.click = function
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
    facts.main = Main("function", guard, function, inner)


# -- the parser ---------------------------------------------------------------------------------


def _method_call(
    stmt: cst.BaseStatement, owners: set[str]
) -> tuple[str | None, str, cst.Call] | None:
    """``(assigned name, method, call)`` for ``[x =] owner.method(...)`` with owner in owners."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    target: str | None = None
    if isinstance(small, cst.Expr):
        value = small.value
    elif isinstance(small, cst.Assign) and len(small.targets) == 1:
        value = small.value
        t = small.targets[0].target
        target = t.value if isinstance(t, cst.Name) else None
    else:
        return None
    if (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and dotted(value.func.value) in owners
    ):
        return target, value.func.attr.value, value
    return None


def _find_parser(facts: Facts) -> None:
    creations = [c for c in facts.calls if facts.imports.qualify(c.func) in PARSERS]
    if not creations:
        return
    if len(creations) > 1:
        raise Declined(creations[1], "two command-line parsers; flaskd takes one")
    call = creations[0]
    kind = PARSERS[facts.imports.qualify(call.func) or ""]
    main_body = facts.main.body if facts.main and facts.main.kind != "module" else []
    for container, at_module in ((facts.module.body, True), (main_body, False)):
        for stmt in container:
            found = _assigned_call(stmt)
            if found and found[1] is call:
                assert isinstance(stmt, cst.SimpleStatementLine)
                parser = Parser(kind, found[0], {found[0]}, stmt, [stmt], [], at_module)  # type: ignore[arg-type]
                rest = list(container[container.index(stmt) + 1 :])
                if at_module:
                    rest += main_body
                _read_parser(facts, parser, rest)
                facts.parser = parser
                return
    facts.parser = _helper_parser(facts, call, kind)


def _helper_parser(facts: Facts, call: cst.Call, kind: str) -> Parser:
    """A parser built by a module-level helper the main path calls once and only to get it:
    ``args = parse()``, ``args = build_parser().parse_args()``, ``parser = build_parser()``."""
    helper = next(
        (s for s in facts.module.body if isinstance(s, cst.FunctionDef) and _contains(s, call)),
        None,
    )
    main = facts.main
    body = list(helper.body.body) if helper and isinstance(helper.body, cst.IndentedBlock) else []
    create = next((s for s in body if (found := _assigned_call(s)) and found[1] is call), None)
    if helper is None or create is None or main is None or main.kind == "module":
        raise Declined(call, "the parser is built inside a function other than the main one")
    assert isinstance(create, cst.SimpleStatementLine)
    name = helper.name.value
    if kind != "argparse":
        raise Declined(call, f"{name}() builds an optparse parser; move it to the main path first")
    if helper.decorators or helper.asynchronous is not None:
        raise Declined(helper, f"{name}() builds the parser but is decorated or async")
    p = helper.params
    params = [*p.posonly_params, *p.params, *p.kwonly_params]
    if (
        isinstance(p.star_arg, cst.Param)
        or isinstance(p.star_kwarg, cst.Param)
        or any(param.default is None for param in params)
    ):
        raise Declined(helper, f"{name}() builds the parser but takes arguments")
    if any(isinstance(n, cst.Call) for n in walk(p)):
        # defaults run when the def does: removing it must not drop a side effect
        raise Declined(helper, f"{name}() has a parameter default computed by a call")
    parser, returns_parser = _read_helper(helper, body, create)
    if {n.value for s in parser.statements for n in read_names(s)} & {x.name.value for x in params}:
        raise Declined(create, f"{name}() builds the parser from its parameters")

    uses = [
        n
        for n, stack in visible_names(facts, name)
        if not (stack and isinstance(stack[-1], cst.FunctionDef) and stack[-1].name is n)
    ]
    if not uses:
        raise Declined(helper, f"{name}() builds the parser but the main path never calls it")
    if len(uses) > 1:
        elsewhere = [n for n in uses if not any(_contains(s, n) for s in main.body)]
        raise Declined(
            (elsewhere or uses[1:])[0],
            f"{name}() builds the parser and is used {len(uses)} times;"
            " flaskd moves it only when the main path calls it once",
        )
    use = uses[0]
    stmt = next((s for s in main.body if _contains(s, use)), None)
    found = _assigned_call(stmt) if stmt is not None else None
    if found is None or stmt is None:
        at_import = any(
            _contains(s, use)
            for s in facts.module.body
            if s is not main.guard and not isinstance(s, cst.FunctionDef | cst.ClassDef)
        )
        where = "at import time" if at_import else "outside the main path"
        where = "in an expression" if stmt is not None else where
        raise Declined(use, f"{name}() builds the parser and is called {where}")
    target, value = found
    assert isinstance(stmt, cst.SimpleStatementLine)
    if value.func is not use and not (
        returns_parser
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value == "parse_args"
        and isinstance(value.func.value, cst.Call)
        and value.func.value.func is use
    ):
        raise Declined(stmt, f"{name}() builds the parser; flaskd cannot follow this call")
    inner = value if value.func is use else value.func.value
    assert isinstance(inner, cst.Call)
    if inner.args:
        raise Declined(inner, f"{name}() builds the parser but is called with arguments")
    parser.helper = helper
    if value.func is not use:  # args = build_parser().parse_args()
        _check_parse_call(value)
    if not returns_parser or value.func is not use:
        parser.parse, parser.namespace, parser.aliases = stmt, target, set()
    else:  # parser = build_parser(), then parse_args() on the main path
        parser.local, parser.name, parser.aliases = parser.name, target, {target}
        parser.handoff = stmt
        rest = main.body[main.body.index(stmt) + 1 :]
        _read_parser(facts, parser, rest)
        if parser.parse is None:
            raise Declined(stmt, f"the parser {name}() returns is not parsed on the main path")
    _check_helper_names(facts, parser)
    return parser


def _read_helper(
    helper: cst.FunctionDef, body: list[cst.BaseStatement], create: cst.BaseStatement
) -> tuple[Parser, bool]:
    """The parser a helper builds, and whether it returns it (else its ``parse_args()``)."""
    name = helper.name.value
    found = _assigned_call(create)
    assert found is not None
    assert isinstance(create, cst.SimpleStatementLine)
    parser = Parser("argparse", found[0], {found[0]}, create, [create], [], False)
    statements = body[1:] if body and _docstring(body[0]) else body
    extra = f"{name}() does more than build the parser; flaskd moves only a helper that does not"
    if statements[0] is not create:
        raise Declined(statements[0], extra)
    for stmt in statements[1:-1]:
        method = _method_call(stmt, parser.aliases)
        if method is None or method[1] not in DECLARING:
            raise Declined(stmt, extra)
        target, how, call = method
        if target is not None and not (how.startswith("add_") and "group" in how):
            raise Declined(stmt, extra)
        assert isinstance(stmt, cst.SimpleStatementLine)
        if target is not None:
            parser.aliases.add(target)
        parser.statements.append(stmt)
        if how == "add_argument":
            parser.options.append(_option(stmt, call, "argparse"))
    last = statements[-1]
    small = (
        last.body[0] if isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1 else None
    )
    if last is create or not isinstance(small, cst.Return) or small.value is None:
        raise Declined(last, f"{name}() builds the parser but does not end returning it")
    value = small.value
    if dotted(value) == parser.name:
        return parser, True
    if (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and dotted(value.func.value) == parser.name
        and value.func.attr.value == "parse_args"
    ):
        _check_helper_parse_call(helper, value)
        return parser, False
    raise Declined(last, f"{name}() returns something other than the parser or its parse_args()")


def _check_helper_parse_call(helper: cst.FunctionDef, call: cst.Call) -> None:
    """``parse_args(argv)`` with ``argv`` a parameter the helper is called without: its default."""
    args = call.args
    if len(args) == 1 and args[0].keyword is None and isinstance(args[0].value, cst.Name):
        p = helper.params
        for param in (*p.posonly_params, *p.params, *p.kwonly_params):
            if param.name.value == args[0].value.value and param.default is not None:
                try:
                    _check_parse_call(call.with_changes(args=[cst.Arg(param.default)]))
                except Declined as e:
                    raise Declined(call, e.reason) from None
                return
    _check_parse_call(call)


def _check_helper_names(facts: Facts, parser: Parser) -> None:
    """The helper's parser and groups become module-level names: none may be taken, and a
    parser renamed to the main path's name must appear only where the rename reaches."""
    assert parser.helper is not None
    assert facts.main is not None
    main = facts.main
    body = parser.helper.body.body if isinstance(parser.helper.body, cst.IndentedBlock) else []
    local = parser.local or parser.name
    moving = {local} | {
        t for s in parser.statements if s in body and (t := _method_target(s)) is not None
    }
    gone = {id(parser.helper), id(main.guard), id(parser.parse), id(parser.handoff)}
    taken = bound_names(s for s in facts.module.body if id(s) not in gone)
    taken |= bound_names(s for s in main.body if id(s) not in gone)
    taken |= {
        item.name.value for n in walk(facts.module) if isinstance(n, cst.Global) for item in n.names
    }
    if parser.local is not None:
        moving = (moving - {local}) | {parser.name}
    clash = sorted(moving & taken)
    if clash:
        raise Declined(
            parser.create, f"moving the parser to module level would rebind {clash[0]!r}"
        )
    if parser.local is not None and parser.local != parser.name:
        for stmt in (s for s in parser.statements if s in body):
            allowed = _owner(stmt, stmt is parser.create)
            if any(n.value == local and n is not allowed for n in read_names(stmt)):
                raise Declined(stmt, f"the parser {local!r} is used in a way flaskd cannot rename")


def _owner(stmt: cst.SimpleStatementLine, creation: bool) -> cst.CSTNode:
    """The name a parser statement assigns (the creation) or calls a method of."""
    small = stmt.body[0]
    assert isinstance(small, cst.Assign | cst.Expr)
    if creation:
        assert isinstance(small, cst.Assign)
        return small.targets[0].target
    assert isinstance(small.value, cst.Call)
    assert isinstance(small.value.func, cst.Attribute)
    return small.value.func.value


def _method_target(stmt: cst.BaseStatement) -> str | None:
    found = _assigned_call(stmt)
    return found[0] if found else None


def _read_parser(facts: Facts, parser: Parser, statements: list[cst.BaseStatement]) -> None:
    for stmt in statements:
        found = _method_call(stmt, parser.aliases)
        if found is None:
            continue
        target, method, call = found
        assert isinstance(stmt, cst.SimpleStatementLine)
        if method in DECLARING and (
            target is None or (method.startswith("add_") and "group" in method)
        ):
            if target is not None:
                parser.aliases.add(target)
            parser.statements.append(stmt)
            if method in ("add_argument", "add_option"):
                parser.options.append(_option(stmt, call, parser.kind))
        elif method == "parse_args" and target is not None:
            if parser.parse is not None:
                raise Declined(stmt, "parse_args() is called twice")
            _check_parse_call(call)
            parser.parse, parser.namespace = stmt, target
        elif method == "parse_args":
            _optparse_parse(stmt, call, parser)
    _check_parser_uses(facts, parser)
    if parser.positional is not None and visible_names(facts, parser.positional, parser.parse):
        raise Declined(
            parser.parse, f"optparse's positional arguments {parser.positional!r} are used"
        )


def _optparse_parse(stmt: cst.SimpleStatementLine, call: cst.Call, parser: Parser) -> None:
    small = stmt.body[0]
    if parser.kind != "optparse" or not isinstance(small, cst.Assign):
        raise Declined(stmt, "parse_args() result is not assigned to one name")
    target = small.targets[0].target
    if isinstance(target, cst.Tuple) and len(target.elements) == 2:
        first, second = (e.value for e in target.elements)
        if isinstance(first, cst.Name) and isinstance(second, cst.Name):
            _check_parse_call(call)
            parser.parse, parser.namespace, parser.positional = stmt, first.value, second.value
            return
    raise Declined(stmt, "parse_args() result is not assigned to `(options, args)`")


def _check_parse_call(call: cst.Call) -> None:
    if not call.args:
        return
    if len(call.args) == 1 and dotted(call.args[0].value) == "None":
        return
    value = call.args[0].value
    if (
        len(call.args) == 1
        and isinstance(value, cst.Subscript)
        and dotted(value.value) == "sys.argv"
    ):
        return
    raise Declined(call, "parse_args() is given an argument list; flaskd parses sys.argv itself")


def _option(stmt: cst.SimpleStatementLine, call: cst.Call, kind: str) -> Option:
    flags: list[str] = []
    dest: str | None = None
    for arg in call.args:
        if arg.star:
            raise Declined(call, "an option declared with *args or **kwargs")
        if arg.keyword is None:
            flag = string_value(arg.value)
            if flag is None:
                raise Declined(call, "an option whose name is not a string literal")
            flags.append(flag)
        elif arg.keyword.value == "dest":
            dest = string_value(arg.value)
            if dest is None:
                raise Declined(call, "an option whose dest is not a string literal")
        elif kind == "optparse" and (
            arg.keyword.value == "callback" or string_value(arg.value) == "callback"
        ):
            raise Declined(call, "an optparse callback option")
    if not flags:
        raise Declined(call, "an option without a name")
    if dest is None:
        if not flags[0].startswith("-"):
            dest = flags[0]
        else:
            long = [f for f in flags if f.startswith("--")]
            dest = (long or flags)[0].lstrip("-").replace("-", "_")
    address = next((ADDRESS[f] for f in flags if f in ADDRESS), None)
    return Option(stmt, call, flags, dest, address)


def _check_parser_uses(facts: Facts, parser: Parser) -> None:
    """Every use of the parser is one we know: building, parsing, or a method init code may call."""
    known = {id(s) for s in parser.statements} | {id(facts.service_stmt)}
    if parser.parse is not None:
        known.add(id(parser.parse))
    if parser.handoff is not None:
        known.add(id(parser.handoff))
    if parser.helper is not None and isinstance(parser.helper.body, cst.IndentedBlock):
        known |= {id(s) for s in parser.helper.body.body}
    for stmt in walk(facts.module, leaves=cst.SimpleStatementLine):
        if not isinstance(stmt, cst.SimpleStatementLine) or id(stmt) in known:
            continue
        for name in read_names(stmt):
            if name.value in parser.aliases:
                for call in calls(stmt):
                    if (
                        isinstance(call.func, cst.Attribute)
                        and call.func.value is name
                        and call.func.attr.value in USABLE
                    ):
                        break
                else:
                    if name.value in _shadowing_scopes(facts, stmt):
                        continue
                    raise Declined(
                        stmt, f"the parser {name.value!r} is used in a way flaskd cannot follow"
                    )


def _shadowing_scopes(facts: Facts, stmt: cst.CSTNode) -> set[str]:
    """Names bound locally by the module-level function holding ``stmt``, if any."""
    for top in facts.module.body:
        if isinstance(top, cst.FunctionDef) and _contains(top, stmt):
            if facts.main and top is facts.main.function:
                return set()
            return local_names(top)
    return set()


def _contains(tree: cst.CSTNode, node: cst.CSTNode) -> bool:
    return any(n is node for n in walk(tree))


def _decline_other_parsing(facts: Facts) -> None:
    """Options read with click, getopt or sys.argv on the main path: no clear mapping."""
    if facts.main is None:
        return
    if facts.main.kind == "module":
        scope: list[cst.BaseStatement] = [
            s for s in facts.module.body if not isinstance(s, cst.FunctionDef | cst.ClassDef)
        ]
    else:
        scope = facts.main.body
    for stmt in scope:
        for call in calls(stmt):
            qualified = facts.imports.qualify(call.func) or ""
            if qualified.startswith("getopt."):
                raise Declined(call, "options parsed with getopt; convert them to argparse first")
            if qualified.startswith("click."):
                raise Declined(call, "options parsed with click; convert them to argparse first")
        if any(facts.imports.qualify(node) == "sys.argv" for node in walk(stmt)):
            raise Declined(stmt, "options read from sys.argv; declare them with argparse first")


# -- app.run --------------------------------------------------------------------------------------


def _find_run(facts: Facts) -> None:
    app = facts.app
    runs = [
        c
        for c in facts.calls
        if isinstance(c.func, cst.Attribute)
        and dotted(c.func.value) == app
        and c.func.attr.value == "run"
    ]
    if not runs:
        return
    if len(runs) > 1:
        raise Declined(
            runs[1], f"{app}.run() is called twice: a second server path flaskd cannot map"
        )
    call = runs[0]
    assert facts.main is not None
    body = facts.main.body
    stmt = next(
        (
            s
            for s in body
            if isinstance(s, cst.SimpleStatementLine)
            and len(s.body) == 1
            and isinstance(s.body[0], cst.Expr)
            and s.body[0].value is call
        ),
        None,
    )
    if stmt is None:
        for s in body:
            if _contains(s, call):
                if isinstance(s, cst.For | cst.While):
                    raise Declined(call, f"{app}.run() in a loop")
                raise Declined(call, f"{app}.run() inside a block: a server path flaskd cannot map")
        raise Declined(call, f"{app}.run() outside the main path")
    facts.run = Run(stmt, call, {}, {}, debug=False)
    if facts.main.kind != "module":
        facts.shutdown = body[body.index(stmt) + 1 :]
        for after in facts.shutdown:
            _check_movable(facts, after)
    _read_run_args(facts)


def _check_other_servers(facts: Facts) -> None:
    """Decline another server on the main path: ``waitress.serve(app)``, ``make_server``..."""
    if facts.main is None or facts.main.kind == "module":
        return
    for stmt in facts.main.body:
        for call in calls(stmt):
            name = dotted(call.func) or ""
            last = name.rpartition(".")[2]
            uses_app = any(dotted(a.value) == facts.app for a in call.args)
            if last in SERVERS and (uses_app or last != "run"):
                raise Declined(call, f"a second server path, {name}(), that flaskd cannot map")


def _read_run_args(facts: Facts) -> None:
    assert facts.run is not None
    run = facts.run
    given: dict[str, cst.BaseExpression] = {}
    for i, arg in enumerate(run.call.args):
        if arg.star:
            raise Declined(run.call, "app.run() with *args or **kwargs")
        if arg.keyword is None:
            if i >= len(RUN_POSITIONAL):
                raise Declined(run.call, "app.run() with extra positional arguments")
            given[RUN_POSITIONAL[i]] = arg.value
        else:
            given[arg.keyword.value] = arg.value
    for name, value in given.items():
        if name in ("host", "port"):
            _serve_value(facts, name, value)
        elif name == "debug":
            run.debug = not _is_debug_flag(facts, value) and dotted(value) not in ("False", "None")
        elif name == "processes" and _literal(value) in (None, 1):
            pass
        elif name not in DEV_ONLY:
            raise Declined(run.call, f"app.run({name}=...) has no flaskd equivalent")


def _literal(node: cst.BaseExpression) -> object:
    if isinstance(node, cst.Integer):
        return node.evaluated_value
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    return dotted(node)


def _is_debug_flag(facts: Facts, value: cst.BaseExpression) -> bool:
    parser = facts.parser
    return (
        parser is not None
        and isinstance(value, cst.Attribute)
        and dotted(value.value) == parser.namespace
        and value.attr.value == "debug"
        and parser.key("debug") == "DEBUG"
    )


def _serve_value(facts: Facts, setting: str, value: cst.BaseExpression) -> None:
    assert facts.run is not None
    if dotted(value) == "None":
        return
    inner = value
    if (
        isinstance(inner, cst.Call)
        and dotted(inner.func) in ("int", "str")
        and len(inner.args) == 1
    ):
        inner = inner.args[0].value
    parser = facts.parser
    if (
        parser is not None
        and parser.namespace is not None
        and isinstance(inner, cst.Attribute)
        and dotted(inner.value) == parser.namespace
    ):
        option = next((o for o in parser.options if o.dest == inner.attr.value), None)
        if option is None:
            raise Declined(value, f"{setting}= reads an option the parser does not declare")
        if option.address == setting:
            return
        if option.address is not None or any(
            f"--{setting}" in o.flags for o in parser.options if o is not option
        ):
            raise Declined(
                value,
                f"{setting}= comes from {option.flags[0]}, but --{setting} means something else",
            )
        facts.run.alias[setting] = option
        option.address = setting
        return
    names = {n.value for n in read_names(value)}
    if parser is not None and parser.namespace in names:
        raise Declined(
            value,
            f"{setting}= is computed from the options; flaskd cannot tell the serving {setting}",
        )
    main_locals = (
        bound_names(facts.main.body) if facts.main and facts.main.kind != "module" else set()
    )
    module_names = bound_names(
        s for s in facts.module.body if s is not (facts.main and facts.main.guard)
    )
    if names & main_locals or not names <= (module_names | BUILTINS):
        raise Declined(
            value,
            f"{setting}= is computed on the main path; flaskd cannot tell the serving {setting}",
        )
    facts.run.serve[setting] = value


# -- before_first_request -------------------------------------------------------------------


def first_request_owner(facts: Facts, decorator: cst.Decorator) -> str | None:
    """The app or blueprint a first-request decorator registers on; None for another one."""
    name = dotted(decorator.decorator)
    if name is None or "." not in name:
        return None
    owner, _, method = name.rpartition(".")
    if method == "before_first_request" and (facts.app is None or owner == facts.app):
        return owner
    if method == "before_app_first_request":
        return owner
    return None


def _find_first_request(facts: Facts) -> None:
    for stmt in facts.module.body:
        if not isinstance(stmt, cst.FunctionDef):
            continue
        if not any(first_request_owner(facts, d) for d in stmt.decorators):
            continue
        if facts.app is None:
            facts.orphan_first_request.append(stmt)
            continue
        p = stmt.params
        if (
            p.params
            or p.posonly_params
            or p.kwonly_params
            or p.star_arg != cst.MaybeSentinel.DEFAULT
        ):
            raise Declined(
                stmt, f"{stmt.name.value}() is a first-request hook that takes arguments"
            )
        if isinstance(p.star_kwarg, cst.Param) or stmt.asynchronous is not None:
            raise Declined(stmt, f"{stmt.name.value}() cannot become a start-up hook")
        facts.first_request.append(stmt)


# -- init code and option reads -------------------------------------------------------------------


def _find_init(facts: Facts) -> None:
    main = facts.main
    if main is None:
        return
    parser = facts.parser
    skip: set[int] = set()
    if parser is not None:
        skip |= {id(s) for s in parser.statements}
        if parser.parse is not None:
            skip.add(id(parser.parse))
        if parser.handoff is not None:
            skip.add(id(parser.handoff))
    if facts.run is not None:
        skip.add(id(facts.run.stmt))
        skip |= {id(s) for s in facts.shutdown}
    candidates = list(facts.module.body) + (main.body if main.kind != "module" else [])
    facts.copies = [s for s in candidates if _is_copy(facts, s)]
    skip |= {id(s) for s in facts.copies}
    if parser is not None and parser.parse is not None and parser.parse in facts.module.body:
        facts.init = _import_time_init(facts, skip)
    if main.kind == "module" or facts.run is None:
        return  # without app.run, the main path is not how the app is served
    body = [s for s in main.body if id(s) not in skip and not _is_trivial(facts, s)]
    if main.kind == "function":
        body = [s for s in body if not _is_global(s)]
        if body and _docstring(body[0]) and main.body and body[0] is main.body[0]:
            body = body[1:]
    for stmt in body:
        _check_movable(facts, stmt)
    facts.init += body


def _is_copy(facts: Facts, stmt: cst.BaseStatement) -> bool:
    """``app.config["DB"] = args.db``, or the same once rewritten (a self-assignment)."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return False
    target = small.targets[0].target
    if not isinstance(target, cst.Subscript) or dotted(target.value) != f"{facts.app}.config":
        return False
    code = facts.module.code_for_node
    if code(target) == code(small.value):
        return True
    index = target.slice[0].slice if len(target.slice) == 1 else None
    key = string_value(index.value) if isinstance(index, cst.Index) else None
    value = small.value
    parser = facts.parser
    return (
        key is not None
        and parser is not None
        and isinstance(value, cst.Attribute)
        and dotted(value.value) == parser.namespace
        and parser.key(value.attr.value) == key
    )


def _is_global(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, cst.Global) for s in stmt.body
    )


def _docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def _is_trivial(facts: Facts, stmt: cst.BaseStatement) -> bool:
    """``pass``, or the ``service.main()`` a migrated script already has."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    if isinstance(small, cst.Pass):
        return True
    return (
        isinstance(small, cst.Expr)
        and isinstance(small.value, cst.Call)
        and facts.service is not None
        and dotted(small.value.func) == f"{facts.service}.main"
    )


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


def _check_movable(facts: Facts, stmt: cst.BaseStatement) -> None:
    visitor = _Returns()
    stmt.visit(visitor)
    if visitor.found is not None:
        raise Declined(visitor.found, "a `return`, `yield` or `await` on the main path")
    if facts.app in bound_names([stmt]):
        raise Declined(stmt, f"the main path rebinds {facts.app}")


def _import_time_init(facts: Facts, skip: set[int]) -> list[cst.BaseStatement]:
    """Module-level statements that need the parsed options, and what needs those."""
    parser = facts.parser
    if parser is None or parser.parse is None or parser.namespace is None:
        return []
    body = list(facts.module.body)
    start = body.index(parser.parse) + 1
    tainted = {parser.namespace}
    moved: list[cst.BaseStatement] = []
    for stmt in body[start:]:
        if id(stmt) in skip or stmt is (facts.main.guard if facts.main else None):
            continue
        reads = {n.value for n in read_names(stmt, at_import=True)}
        if reads & tainted:
            if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
                raise Declined(stmt, "a definition that needs the parsed options at import time")
            _check_movable(facts, stmt)
            moved.append(stmt)
            tainted |= bound_names([stmt])
    tainted.discard(parser.namespace)
    for stmt in body[start:]:
        if stmt in moved or id(stmt) in skip:
            continue
        late = {n.value for n in read_names(stmt, at_import=True)} & tainted
        if late:
            raise Declined(
                stmt, f"{sorted(late)[0]} comes from the options but is used at import time"
            )
    return moved


def visible_names(
    facts: Facts, name: str, *skip: cst.CSTNode | None
) -> list[tuple[cst.Name, list[cst.CSTNode]]]:
    """Every ``Name`` node for ``name`` where it means the module's (or main()'s) binding,
    with the chain of its ancestors; ``skip`` is a statement not to look into."""
    main_function = facts.main.function if facts.main is not None else None
    return _name_nodes(facts.module, name, [], main_function, skip)


def _name_nodes(
    root: cst.CSTNode,
    name: str,
    ancestors: list[cst.CSTNode],
    keep: cst.FunctionDef | None = None,
    skip: Sequence[cst.CSTNode | None] = (),
) -> list[tuple[cst.Name, list[cst.CSTNode]]]:
    """The ``Name`` nodes that are the variable ``name`` below ``root`` (whose ``ancestors``
    are given), each with its ancestors; not in the body of a def or lambda that binds ``name``
    itself (but ``keep``), nor inside the nodes in ``skip``."""
    found: list[tuple[cst.Name, list[cst.CSTNode]]] = []

    class Visit(cst.CSTVisitor):
        def __init__(self) -> None:
            self.stack = list(ancestors)
            self.hidden: list[bool] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            parent = self.stack[-1] if self.stack else None
            self.stack.append(node)  # on_leave still runs
            if scope := scope_of(node, parent):
                self.hidden.append(scope is not keep and name in local_names(scope))
            if any(node is s for s in skip) or not is_variable(node, parent):
                return False
            if isinstance(node, cst.Name) and node.value == name and not any(self.hidden):
                found.append((node, self.stack[:-1]))
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            self.stack.pop()
            if scope_of(original_node, self.stack[-1] if self.stack else None):
                self.hidden.pop()

    root.visit(Visit())
    return found


def _find_reads(facts: Facts) -> None:
    parser = facts.parser
    if parser is None or parser.namespace is None or facts.main is None:
        return
    run = facts.run.stmt if facts.run is not None else None  # the serve rule maps those
    helpers: dict[str, str] = {}
    for name, stack in visible_names(facts, parser.namespace, parser.parse, run):
        read = _read(parser, name, stack)
        if read is None:
            helper = _helper_param(facts, name, stack)
            helpers[helper.name.value] = _param_of(facts, helper, name, stack)
            facts.reads.append(Read(name, name, "", whole=True))
        elif read.key:
            facts.reads.append(_quoted(read, stack))
    for function in facts.module.body:
        if isinstance(function, cst.FunctionDef) and function.name.value in helpers:
            param = helpers[function.name.value]
            if param in bound_names([function.body]):
                raise Declined(function, f"{function.name.value}() reassigns {param!r}")
            for name, stack in _names_in(function, param):
                read = _read(parser, name, stack)
                if read is None:
                    raise Declined(name, f"{param!r} is passed on again; flaskd cannot follow it")
                facts.reads.append(dataclasses.replace(_quoted(read, stack), mapping=param))


def _quoted(read: Read, stack: list[cst.CSTNode]) -> Read:
    """``read`` with the quote its key needs where it is (inside f-strings, before 3.12)."""
    quote = string_quote(stack)
    if quote is None:
        code = cst.Module([]).code_for_node(read.expr)
        raise Declined(read.expr, fstring_quotes_reason(code))
    return dataclasses.replace(read, quote=quote)


def _helper_param(facts: Facts, name: cst.Name, stack: list[cst.CSTNode]) -> cst.FunctionDef:
    """The module-level function ``name`` is passed to as a plain argument (``init_db(args)``)."""
    call = stack[-2] if len(stack) >= 2 else None
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Name):
        for stmt in facts.module.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == call.func.value:
                return stmt
    raise Declined(name, f"the parsed options {name.value!r} are used as a whole")


def _param_of(
    facts: Facts, function: cst.FunctionDef, name: cst.Name, stack: list[cst.CSTNode]
) -> str:
    """The parameter of ``function`` the options arrive in; every call must pass them there."""
    arg, call = stack[-1], stack[-2]
    assert isinstance(arg, cst.Arg)
    assert isinstance(call, cst.Call)
    params = function.params
    if arg.star or params.posonly_params:
        raise Declined(
            name, f"{function.name.value}() gets the options in a way flaskd cannot follow"
        )
    if arg.keyword is not None:
        param = arg.keyword.value
    else:
        index = list(call.args).index(arg)
        if index >= len(params.params):
            raise Declined(name, f"{function.name.value}() gets the options as *args")
        param = params.params[index].name.value
    for other in facts.calls:
        if isinstance(other.func, cst.Name) and other.func.value == function.name.value:
            passed = [
                a
                for i, a in enumerate(other.args)
                if (a.keyword is not None and a.keyword.value == param)
                or (
                    a.keyword is None
                    and i < len(params.params)
                    and params.params[i].name.value == param
                )
            ]
            if len(passed) != 1 or dotted(passed[0].value) != name.value:
                raise Declined(other, f"{function.name.value}() is also called without the options")
    return param


def _names_in(function: cst.FunctionDef, name: str) -> list[tuple[cst.Name, list[cst.CSTNode]]]:
    """The ``Name`` nodes for ``name`` in a function's body (not where a nested def rebinds it)."""
    return _name_nodes(function.body, name, [function], function)


def _read(parser: Parser, name: cst.Name, stack: list[cst.CSTNode]) -> Read | None:
    """The read ``name`` is part of; None when it is a plain argument to a call."""
    parent = stack[-1] if stack else None
    if isinstance(parent, cst.NameItem):
        return Read(name, name, "")  # global args: the parser rule removes it
    if isinstance(parent, cst.Attribute) and parent.value is name:
        return Read(name, parent, _key(parser, parent.attr.value, parent))
    if isinstance(parent, cst.Arg) and len(stack) >= 2 and isinstance(stack[-2], cst.Call):
        call = stack[-2]
        func = dotted(call.func)
        if func == "vars" and len(stack) >= 3 and isinstance(stack[-3], cst.Subscript):
            subscript = stack[-3]
            assert isinstance(subscript, cst.Subscript)
            index = subscript.slice[0].slice if len(subscript.slice) == 1 else None
            key = string_value(index.value) if isinstance(index, cst.Index) else None
            if key is not None:
                return Read(name, subscript, _key(parser, key, subscript))
        if func == "getattr" and call.args[0].value is name and len(call.args) in (2, 3):
            key = string_value(call.args[1].value)
            if key is not None:
                default = call.args[2].value if len(call.args) == 3 else None
                return Read(name, call, _key(parser, key, call), default)
        if parent.keyword is not None or not parent.star:
            return None
    raise Declined(name, f"the parsed options {name.value!r} are used as a whole")


def _key(parser: Parser, dest: str, node: cst.CSTNode) -> str:
    key = parser.key(dest)
    if key is None:
        raise Declined(node, f"{parser.namespace}.{dest}: no option has dest {dest!r}")
    return key


def _check_order(facts: Facts) -> None:
    """The service must come after what its parser needs, and before the hooks it decorates."""
    parser = facts.parser
    if facts.service_stmt is not None and parser is not None and parser.parse is not None:
        moving = [s for s in parser.statements if s not in facts.module.body]
        if any(i > facts.index(facts.service_stmt) for i in facts._bindings_before(moving)):
            raise Declined(parser.create, "the parser needs names defined after the service")
    if not facts.first_request:
        return
    anchor = facts.anchor() if facts.service_stmt is None else facts.index(facts.service_stmt)
    for func in facts.first_request:
        if facts.index(func) < anchor:
            raise Declined(func, f"{func.name.value}() comes before the parser the service needs")
