"""Parser facts, for a parser built in a helper: a module-level function the main path calls
once, only to get the parser (``args = parse()``, ``parser = build_parser()``...)."""

from __future__ import annotations

import libcst as cst

from ._names import bound_names, dotted, read_names, walk
from ._parsing import DECLARING, Parser, check_parse_call, method_call, option, read_parser
from ._script import Declined, Script, assigned_call, contains, is_docstring, visible_names


def helper_parser(script: Script, call: cst.Call, kind: str) -> Parser:
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
        check_parse_call(value)
    if not returns_parser or value.func is not use:
        parser.parse, parser.namespace, parser.aliases = stmt, target, set()
    else:  # parser = build_parser(), then parse_args() on the main path
        parser.local, parser.name, parser.aliases = parser.name, target, {target}
        parser.handoff = stmt
        rest = main.body[main.body.index(stmt) + 1 :]
        read_parser(script, parser, rest)
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
    parsed = _parsed_then_returned(statements, parser.name)
    if parsed is not None:  # args = parser.parse_args(); return args
        statements = statements[:-1]
    for stmt in statements[1:-1]:
        method = method_call(stmt, parser.aliases)
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
            parser.options.append(option(stmt, call, "argparse"))
    last = statements[-1]
    small = (
        last.body[0] if isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1 else None
    )
    if parsed is not None:
        value: cst.BaseExpression = parsed
    elif last is create or not isinstance(small, cst.Return) or small.value is None:
        raise Declined(last, f"{name}() builds the parser but does not end returning it")
    else:
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


def _parsed_then_returned(statements: list[cst.BaseStatement], parser: str) -> cst.Call | None:
    """The ``parser.parse_args()`` call of a helper that ends ``args = parser.parse_args()``
    then ``return args``."""
    if len(statements) < 3:
        return None
    last = statements[-1]
    small = last.body[0] if isinstance(last, cst.SimpleStatementLine) else None
    if not isinstance(small, cst.Return) or not isinstance(small.value, cst.Name):
        return None
    found = assigned_call(statements[-2])
    if found is None or found[0] != small.value.value:
        return None
    call = found[1]
    if (
        isinstance(call.func, cst.Attribute)
        and dotted(call.func.value) == parser
        and call.func.attr.value == "parse_args"
    ):
        return call
    return None


def _check_helper_parse_call(helper: cst.FunctionDef, call: cst.Call) -> None:
    """``parse_args(argv)`` with ``argv`` a parameter the helper is called without: its default."""
    args = call.args
    if len(args) == 1 and args[0].keyword is None and isinstance(args[0].value, cst.Name):
        p = helper.params
        for param in (*p.posonly_params, *p.params, *p.kwonly_params):
            if param.name.value == args[0].value.value and param.default is not None:
                try:
                    check_parse_call(call.with_changes(args=[cst.Arg(param.default)]))
                except Declined as e:
                    raise Declined(call, e.reason) from None
                return
    check_parse_call(call)


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
