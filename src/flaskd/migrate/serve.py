"""Rule ``serve``: ``app.run(...)`` becomes ``service.main()``.

``service.main()`` parses the command line (the app's options plus flaskd's
serving options) and serves with a production server. A literal or
module-level host and port become the service's serving defaults
(``serve={...}``); an option that gave them under another flag gets
``--host``/``--port`` as an alias, the flags flaskd serves on. ``debug=True``
is not carried over: the debugger is for ``--dev`` only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import libcst as cst

from ._defaults import none_fallbacks
from ._edit import (
    Context,
    MainPathEditor,
    ensure_service,
    reflow_service,
    remove_from_block,
    service_call,
    with_todo,
)
from ._names import BUILTINS, bound_names, declared_global, dotted, read_names
from ._parsing import Option, Parser, decline_other_parsing
from ._script import Analysis, Declined, Script, check_movable, contains
from ._servers import check_other_servers, computed_reason, misplaced
from .parser import find_parser

ID = "serve"
DEBUG_NOTE = "# debug: pass --dev for Flask's reloader and debugger (never on in production)"
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
    #: Main-path statements after ``app.run()`` (the shutdown rule makes them a hook).
    shutdown: list[cst.BaseStatement] = dataclasses.field(default_factory=list)
    #: The script's ``--debug`` option, when it takes a value (``--debug 1``) rather than
    #: being a flag: flaskd's dev mode follows only a flag.
    debug_value: Option | None = None
    #: Main-path aliases of an option that only app.run() read (``PORT = int(args.port)``).
    dropped: list[cst.BaseStatement] = dataclasses.field(default_factory=list)
    #: Fallbacks folded into an option's default (``args.host if args.host else "0.0.0.0"``).
    defaults: list[tuple[Option, cst.BaseExpression]] = dataclasses.field(default_factory=list)


def find_run(analysis: Analysis) -> Run | None:
    """``app.run(...)`` on the main path; None when the script has none."""
    script = analysis.script
    if not script.argparse:
        return None
    parser = analysis.get(find_parser)
    check_other_servers(script)
    if parser is None:
        decline_other_parsing(script)
    app = script.app
    runs = [
        c
        for c in script.calls
        if isinstance(c.func, cst.Attribute)
        and dotted(c.func.value) == app
        and c.func.attr.value == "run"
    ]
    if not runs:
        return None
    if len(runs) > 1:
        raise Declined(
            runs[1], f"{app}.run() is called twice: a second server path flaskd cannot map"
        )
    call = runs[0]
    assert script.main is not None
    body = script.main.body
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
        raise Declined(call, misplaced(script, call, body))
    run = Run(stmt, call, {}, {}, debug=False)
    if script.main.kind != "module":
        run.shutdown = body[body.index(stmt) + 1 :]
        for after in run.shutdown:
            check_movable(script, after)
    for check, option, default in none_fallbacks(script, parser):
        run.dropped.append(check)
        run.defaults.append((option, default))
    _read_run_args(script, parser, run)
    return run


def _read_run_args(script: Script, parser: Parser | None, run: Run) -> None:
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
            _serve_value(script, parser, run, name, value)
        elif name == "debug":
            run.debug = not _is_debug_flag(parser, value) and dotted(value) not in ("False", "None")
            if parser is not None and _is_debug_flag(parser, value):
                option = next(o for o in parser.options if o.dest == "debug")
                run.debug_value = None if _is_boolean(option) else option
        elif name == "processes" and _literal(value) in (None, 1):
            pass
        elif name == "threaded" and dotted(value) == "False":
            run.serve["threads"] = cst.Integer("1")  # one request at a time, as the script
        elif name not in DEV_ONLY:
            raise Declined(run.call, f"app.run({name}=...) has no flaskd equivalent")


def _literal(node: cst.BaseExpression) -> object:
    if isinstance(node, cst.Integer):
        return node.evaluated_value
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    return dotted(node)


#: ``action=`` values that make an option a flag.
BOOLEAN_ACTIONS = {
    '"store_true"',
    "'store_true'",
    '"store_false"',
    "'store_false'",
    "argparse.BooleanOptionalAction",
}


def _is_boolean(option: Option) -> bool:
    code = cst.Module([]).code_for_node
    return any(
        a.keyword is not None and a.keyword.value == "action" and code(a.value) in BOOLEAN_ACTIONS
        for a in option.call.args
    )


def find_proxy_fix(analysis: Analysis) -> list[cst.SimpleStatementLine]:
    """``app.wsgi_app = ProxyFix(app.wsgi_app, ...)`` lines, at module level or on the main
    path: flaskd's own handling of forwarded headers cancels them unless told the proxy."""
    script = analysis.script
    if script.app is None or script.main is None:
        return []
    body: list[cst.BaseStatement] = list(script.module.body)
    body += script.main.body if script.main.kind != "module" else []
    found = []
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            small = stmt.body[0]
            if (
                isinstance(small, cst.Assign)
                and dotted(small.targets[0].target) == f"{script.app}.wsgi_app"
                and isinstance(small.value, cst.Call)
                and (script.imports.qualify(small.value.func) or "").endswith(".ProxyFix")
            ):
                found.append(stmt)
    return found


PROXY_FIX = (
    "flaskd removes X-Forwarded-* headers from clients not in --forwarded-allow-ips"
    " (FLASKD_FORWARDED_ALLOW_IPS), which cancels this ProxyFix: give it your proxy's address"
)
DEBUG_VALUE = (
    "{flag} takes a value here ({flag} 1): flaskd turns on dev mode (the debugger) only for a"
    ' flag; make it action="store_true", or pass --dev'
)


def _is_debug_flag(parser: Parser | None, value: cst.BaseExpression) -> bool:
    return (
        parser is not None and parser.dest_read(value) == "debug" and parser.key("debug") == "DEBUG"
    )


def _unalias(
    script: Script, parser: Parser | None, run: Run, value: cst.BaseExpression
) -> cst.BaseExpression:
    """What a name given to app.run() stands for, when the main path assigns it once
    (``PORT = int(args.port)``; ``app.run(port=PORT)``): that assignment goes when only
    app.run() reads it, and stays (init code) when other code does and it holds an option or
    a literal."""
    main = script.main
    if not isinstance(value, cst.Name) or main is None or main.kind == "module":
        return value
    name = value.value
    assigns = [
        (stmt, found)
        for stmt in main.body
        if (found := _assigned(stmt)) is not None and found[0] == name
    ]
    binds = [stmt for stmt in main.body if name in bound_names([stmt])]
    reads = [
        n
        for stmt in main.body
        for n in read_names(stmt)
        if n.value == name and not contains(run.call, n)
    ]
    others = [n for n in script.names.get(name, []) if not any(contains(s, n) for s in main.body)]
    if len(assigns) != 1 or len(binds) != 1:
        return value
    stmt, (_, expr) = assigns[0]
    if not others and all(n is _target(stmt) for n in reads):
        run.dropped.append(stmt)  # read only here: it goes
        return expr
    if {n.value for n in read_names(expr)} <= {parser.namespace if parser else None}:
        return expr  # read elsewhere too: it stays, flaskd serves on what it holds
    return value


def _assigned(stmt: cst.BaseStatement) -> tuple[str, cst.BaseExpression] | None:
    """``(name, value)`` for ``name = value``."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    if (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
    ):
        return small.targets[0].target.value, small.value
    return None


def _target(stmt: cst.BaseStatement) -> cst.CSTNode | None:
    assert isinstance(stmt, cst.SimpleStatementLine)
    small = stmt.body[0]
    return small.targets[0].target if isinstance(small, cst.Assign) else None


def _fallback(parser: Parser, run: Run, value: cst.IfExp) -> cst.BaseExpression:
    """``args.host if args.host else "127.0.0.1"`` is ``args.host`` with that default, when the
    option has none: the fallback becomes its ``default=``."""
    body = value.body
    if isinstance(body, cst.Call) and dotted(body.func) in ("int", "str") and len(body.args) == 1:
        body = body.args[0].value
    test = value.test
    dest = parser.dest_read(body)
    if dest is None:
        return value
    if cst.Module([]).code_for_node(test) != cst.Module([]).code_for_node(body):
        return value
    option = next((o for o in parser.options if o.dest == dest), None)
    if option is None or read_names(value.orelse) or has_default(option, run):
        return value
    run.defaults.append((option, value.orelse))
    return value.body


def has_default(option: Option, run: Run) -> bool:
    """The option has a ``default=`` (or gets one from a fallback the rule folds)."""
    return any(o is option for o, _ in run.defaults) or any(
        a.keyword is not None and a.keyword.value == "default" and dotted(a.value) != "None"
        for a in option.call.args
    )


def _serve_value(
    script: Script, parser: Parser | None, run: Run, setting: str, value: cst.BaseExpression
) -> None:
    """Where the serving ``setting`` comes from: the parser's own ``--host``/``--port`` (nothing
    to do), another option (gets the flag as an alias: that completes the parser facts, whose
    keys then say HOST/PORT), or a value known at import time (a serving default)."""
    if dotted(value) == "None":
        return
    given, value = value, _unalias(script, parser, run, value)
    inner = value
    if isinstance(inner, cst.IfExp) and parser is not None:
        inner = _fallback(parser, run, inner)
    if (
        isinstance(inner, cst.Call)
        and dotted(inner.func) in ("int", "str")
        and len(inner.args) == 1
    ):
        inner = inner.args[0].value
    dest = parser.dest_read(inner) if parser is not None else None
    if parser is not None and dest is not None:
        option = next((o for o in parser.options if o.dest == dest), None)
        if option is None:
            raise Declined(value, f"{setting}= reads an option the parser does not declare")
        if option.address == setting:
            return
        if not any(f.startswith("-") for f in option.flags):
            raise Declined(
                value,
                f"{setting}= reads the positional argument {option.flags[0]!r}; flaskd serves on"
                f" the option --{setting}: declare it as `--{setting}` first",
            )
        if option.address is not None or any(
            f"--{setting}" in o.flags for o in parser.options if o is not option
        ):
            raise Declined(
                value,
                f"{setting}= comes from {option.flags[0]}, but --{setting} means something else",
            )
        run.alias[setting] = option
        option.address = setting
        return
    names = {n.value for n in read_names(value)}
    if parser is not None and parser.namespace in names:
        raise Declined(value, computed_reason(script, parser, setting, given))
    main_locals = (
        bound_names(script.main.body) if script.main and script.main.kind != "module" else set()
    )
    module_names = bound_names(
        s for s in script.module.body if s is not (script.main and script.main.guard)
    )
    if names & main_locals or not names <= (module_names | BUILTINS):
        raise Declined(value, computed_reason(script, parser, setting, given))
    run.serve[setting] = value


# -- the rewrite ----------------------------------------------------------------------------------


def needed(analysis: Analysis) -> bool:
    return analysis.get(find_run) is not None


def apply(module: cst.Module, context: Context) -> cst.Module:
    run = context.analysis.get(find_run)
    main = context.analysis.script.main
    if run is None or main is None:
        return module
    module, service = ensure_service(module, context)
    module = _add_aliases(module, context, run)
    module = _add_serve_defaults(module, context, run)
    for option, default in run.defaults:
        call = context.now(option.call)
        args = [a for a in call.args if not (a.keyword and a.keyword.value == "default")]
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        args[-1] = args[-1].with_changes(comma=comma)
        args.append(
            cst.Arg(
                default,
                keyword=cst.Name("default"),
                equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
            )
        )
        module = context.replace(module, call, call.with_changes(args=args))
    todos: list[tuple[cst.CSTNode, str]] = [
        (s, PROXY_FIX) for s in context.analysis.get(find_proxy_fix)
    ]
    if run.debug_value is not None:
        flag = run.debug_value.flags[-1]
        todos.append((run.debug_value.stmt, DEBUG_VALUE.format(flag=flag)))
    for node, text in todos:
        now = context.now(node)
        module = context.replace(module, now, with_todo(now, text))

    stmt = context.now(run.stmt)
    main_call = cst.parse_statement(f"{service}.main()\n")
    leading = list(stmt.leading_lines)
    if run.debug:
        leading.append(cst.EmptyLine(comment=cst.Comment(DEBUG_NOTE)))
    main_call = main_call.with_changes(leading_lines=leading)
    if main.kind == "module":
        guard = cst.parse_statement(f'if __name__ == "__main__":\n    {service}.main()\n')
        assert isinstance(guard, cst.If)
        comments = [line for line in leading if line.comment is not None]
        block = guard.body.with_changes(body=[main_call.with_changes(leading_lines=comments)])
        replacement = guard.with_changes(body=block, leading_lines=[cst.EmptyLine()] * 2)
        body = [replacement if s is stmt else s for s in module.body]
        return reflow_service(module.with_changes(body=body), context)
    module = context.rewrite(module, _ReplaceRun(context, stmt, main_call, run.dropped), [stmt])
    return reflow_service(module, context)


def _add_aliases(module: cst.Module, context: Context, run: Run) -> cst.Module:
    """``add_argument("--listen-port")`` becomes ``add_argument("--listen-port", "--port")``."""
    for setting, option in run.alias.items():
        call = context.now(option.call)
        args = list(call.args)
        last = max(i for i, a in enumerate(args) if a.keyword is None)
        flag = cst.Arg(cst.SimpleString(f'"--{setting}"'), comma=args[last].comma)
        args[last] = args[last].with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
        args.insert(last + 1, flag)
        module = context.replace(module, call, call.with_changes(args=args))
    return module


def _add_serve_defaults(module: cst.Module, context: Context, run: Run) -> cst.Module:
    if not run.serve:
        return module
    call = service_call(context)
    code = cst.Module([]).code_for_node
    items = ", ".join(f'"{k}": {code(v)}' for k, v in run.serve.items())
    args = list(call.args)
    args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    args.append(
        cst.Arg(
            cst.parse_expression("{" + items + "}"),
            keyword=cst.Name("serve"),
            equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
        )
    )
    return context.replace(module, call, call.with_changes(args=args))


class _ReplaceRun(MainPathEditor):
    """Swap ``app.run(...)`` for ``service.main()``; main() keeps only its docstring."""

    def __init__(
        self,
        context: Context,
        run: cst.BaseStatement,
        main_call: cst.BaseStatement,
        dropped: Sequence[cst.CSTNode],
    ) -> None:
        super().__init__(context, dropped)
        self.run = run
        self.main_call = main_call

    def edit_block(self, original: cst.BaseSuite, updated: cst.BaseSuite) -> cst.BaseSuite:
        assert isinstance(original, cst.IndentedBlock)
        rest = [s for s in original.body if s is not self.run]
        unused_globals = {
            id(s)
            for s in rest
            if isinstance(s, cst.SimpleStatementLine)
            and all(isinstance(x, cst.Global) for x in s.body)
            and not declared_global([s]) & bound_names(rest)
        }
        removed = unused_globals | self.removed
        return remove_from_block(original, updated, removed, {id(self.run): self.main_call})
