"""Parser facts: the script's argparse (or optparse) parser, where it is built and parsed,
its options and the config key each gives.

Read by the rules that rewrite it (``parser``, ``optparse``) and by those whose code reads
the options (``serve``, ``startup``, ``options``).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import libcst as cst

from ._names import bound_names, dotted, local_names, read_names, string_value, walk
from ._script import (
    Analysis,
    Declined,
    Script,
    assigned_call,
    calls,
    contains,
    is_docstring,
    visible_names,
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
#: The flags flaskd serves on: an option with one of them gives that serving setting.
ADDRESS = {"--host": "host", "--port": "port"}


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


def find_parser(analysis: Analysis) -> Parser | None:
    """The script's parser, read from the main path; None when it has none (or is not
    read yet: the click rule converts a click main() first)."""
    script = analysis.script
    if not script.argparse:
        return None
    creations = [c for c in script.calls if script.imports.qualify(c.func) in PARSERS]
    if not creations:
        return None
    if len(creations) > 1:
        raise Declined(creations[1], "two command-line parsers; flaskd takes one")
    call = creations[0]
    kind = PARSERS[script.imports.qualify(call.func) or ""]
    main_body = script.main.body if script.main and script.main.kind != "module" else []
    for container, at_module in ((script.module.body, True), (main_body, False)):
        for stmt in container:
            found = assigned_call(stmt)
            if found and found[1] is call:
                assert isinstance(stmt, cst.SimpleStatementLine)
                parser = Parser(kind, found[0], {found[0]}, stmt, [stmt], [], at_module)  # type: ignore[arg-type]
                rest = list(container[container.index(stmt) + 1 :])
                if at_module:
                    rest += main_body
                _read_parser(script, parser, rest)
                return parser
    return _helper_parser(script, call, kind)


def _helper_parser(script: Script, call: cst.Call, kind: str) -> Parser:
    """A parser built by a module-level helper the main path calls once and only to get it:
    ``args = parse()``, ``args = build_parser().parse_args()``, ``parser = build_parser()``."""
    helper = next(
        (s for s in script.module.body if isinstance(s, cst.FunctionDef) and contains(s, call)),
        None,
    )
    main = script.main
    body = list(helper.body.body) if helper and isinstance(helper.body, cst.IndentedBlock) else []
    create = next((s for s in body if (found := assigned_call(s)) and found[1] is call), None)
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
        for n, stack in visible_names(script, name)
        if not (stack and isinstance(stack[-1], cst.FunctionDef) and stack[-1].name is n)
    ]
    if not uses:
        raise Declined(helper, f"{name}() builds the parser but the main path never calls it")
    if len(uses) > 1:
        elsewhere = [n for n in uses if not any(contains(s, n) for s in main.body)]
        raise Declined(
            (elsewhere or uses[1:])[0],
            f"{name}() builds the parser and is used {len(uses)} times;"
            " flaskd moves it only when the main path calls it once",
        )
    use = uses[0]
    stmt = next((s for s in main.body if contains(s, use)), None)
    found = assigned_call(stmt) if stmt is not None else None
    if found is None or stmt is None:
        at_import = any(
            contains(s, use)
            for s in script.module.body
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
        _read_parser(script, parser, rest)
        if parser.parse is None:
            raise Declined(stmt, f"the parser {name}() returns is not parsed on the main path")
    _check_helper_names(script, parser)
    return parser


def _read_helper(
    helper: cst.FunctionDef, body: list[cst.BaseStatement], create: cst.BaseStatement
) -> tuple[Parser, bool]:
    """The parser a helper builds, and whether it returns it (else its ``parse_args()``)."""
    name = helper.name.value
    found = assigned_call(create)
    assert found is not None
    assert isinstance(create, cst.SimpleStatementLine)
    parser = Parser("argparse", found[0], {found[0]}, create, [create], [], False)
    statements = body[1:] if body and is_docstring(body[0]) else body
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


def _check_helper_names(script: Script, parser: Parser) -> None:
    """The helper's parser and groups become module-level names: none may be taken, and a
    parser renamed to the main path's name must appear only where the rename reaches."""
    assert parser.helper is not None
    assert script.main is not None
    main = script.main
    body = parser.helper.body.body if isinstance(parser.helper.body, cst.IndentedBlock) else []
    local = parser.local or parser.name
    moving = {local} | {
        t for s in parser.statements if s in body and (t := _method_target(s)) is not None
    }
    gone = {id(parser.helper), id(main.guard), id(parser.parse), id(parser.handoff)}
    taken = bound_names(s for s in script.module.body if id(s) not in gone)
    taken |= bound_names(s for s in main.body if id(s) not in gone)
    taken |= {
        item.name.value
        for n in walk(script.module)
        if isinstance(n, cst.Global)
        for item in n.names
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
    found = assigned_call(stmt)
    return found[0] if found else None


def _read_parser(script: Script, parser: Parser, statements: list[cst.BaseStatement]) -> None:
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
    _check_parser_uses(script, parser)
    if parser.positional is not None and visible_names(script, parser.positional, parser.parse):
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


def _check_parser_uses(script: Script, parser: Parser) -> None:
    """Every use of the parser is one we know: building, parsing, or a method init code may call."""
    known = {id(s) for s in parser.statements} | {id(script.service_stmt)}
    if parser.parse is not None:
        known.add(id(parser.parse))
    if parser.handoff is not None:
        known.add(id(parser.handoff))
    if parser.helper is not None and isinstance(parser.helper.body, cst.IndentedBlock):
        known |= {id(s) for s in parser.helper.body.body}
    for stmt in walk(script.module, leaves=cst.SimpleStatementLine):
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
                    if name.value in _shadowing_scopes(script, stmt):
                        continue
                    raise Declined(
                        stmt, f"the parser {name.value!r} is used in a way flaskd cannot follow"
                    )


def _shadowing_scopes(script: Script, stmt: cst.CSTNode) -> set[str]:
    """Names bound locally by the module-level function holding ``stmt``, if any."""
    for top in script.module.body:
        if isinstance(top, cst.FunctionDef) and contains(top, stmt):
            if script.main and top is script.main.function:
                return set()
            return local_names(top)
    return set()


def decline_other_parsing(script: Script) -> None:
    """Options read with click, getopt or sys.argv on the main path: no clear mapping."""
    if script.main is None:
        return
    if script.main.kind == "module":
        scope: list[cst.BaseStatement] = [
            s for s in script.module.body if not isinstance(s, cst.FunctionDef | cst.ClassDef)
        ]
    else:
        scope = script.main.body
    for stmt in scope:
        for call in calls(stmt):
            qualified = script.imports.qualify(call.func) or ""
            if qualified.startswith("getopt."):
                raise Declined(call, "options parsed with getopt; convert them to argparse first")
            if qualified.startswith("click."):
                raise Declined(call, "options parsed with click; convert them to argparse first")
        if any(script.imports.qualify(node) == "sys.argv" for node in walk(stmt)):
            raise Declined(stmt, "options read from sys.argv; declare them with argparse first")


def find_copies(analysis: Analysis) -> list[cst.BaseStatement]:
    """``app.config["DB"] = args.db`` lines (module-level or on the main path): flaskd now
    does that itself, the parser rule drops them."""
    script = analysis.script
    parser = analysis.get(find_parser)
    main = script.main
    if main is None or not script.argparse:
        return []
    candidates = list(script.module.body) + (main.body if main.kind != "module" else [])
    return [s for s in candidates if _is_copy(script, parser, s)]


def _is_copy(script: Script, parser: Parser | None, stmt: cst.BaseStatement) -> bool:
    """``app.config["DB"] = args.db``, or the same once rewritten (a self-assignment)."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return False
    target = small.targets[0].target
    if not isinstance(target, cst.Subscript) or dotted(target.value) != f"{script.app}.config":
        return False
    code = script.module.code_for_node
    if code(target) == code(small.value):
        return True
    index = target.slice[0].slice if len(target.slice) == 1 else None
    key = string_value(index.value) if isinstance(index, cst.Index) else None
    value = small.value
    return (
        key is not None
        and parser is not None
        and isinstance(value, cst.Attribute)
        and dotted(value.value) == parser.namespace
        and parser.key(value.attr.value) == key
    )
