"""Facts about how a script serves its app, for the ``serve`` rule and the engine: another
server beside ``app.run()``, where a misplaced ``app.run()`` is, and why a Flask script that
serves an app was left unconverted."""

from __future__ import annotations

import libcst as cst

from ._names import bound_names, dotted, read_names, walk
from ._parsing import Parser
from ._script import Analysis, Declined, Script, assigned_call, calls, contains

#: Calls that serve the app some other way than app.run.
SERVERS = {"serve", "run_simple", "make_server", "WSGIServer", "serve_forever", "run"}


def check_other_servers(script: Script) -> None:
    """Decline another server on the main path: ``waitress.serve(app)``, ``make_server``..."""
    if script.main is None or script.main.kind == "module":
        return
    for stmt in script.main.body:
        for call in calls(stmt):
            name = dotted(call.func) or ""
            last = name.rpartition(".")[2]
            uses_app = any(dotted(a.value) == script.app for a in call.args)
            if last in SERVERS and (uses_app or last != "run"):
                raise Declined(call, f"a second server path, {name}(), that flaskd cannot map")


BLOCKS = {cst.If: "an `if`", cst.Try: "a `try:`", cst.With: "a `with`"}


def misplaced(script: Script, call: cst.Call, body: list[cst.BaseStatement]) -> str:
    """Why ``app.run()`` is not a statement of the main path flaskd can swap: where it is."""
    name = f"{dotted(call.func)}()"
    for s in body:
        if contains(s, call) and not isinstance(s, cst.FunctionDef):
            if isinstance(s, cst.For | cst.While):
                return f"{name} in a loop"
            for kind, what in BLOCKS.items():
                if isinstance(s, kind):
                    return f"{name} inside {what} on the main path: a server path flaskd cannot map"
            return f"{name} inside a block: a server path flaskd cannot map"
    function = _function_of(script, call)
    if function is not None and not _called(script, function):
        return f"{name} in a function this module never calls, {function.name.value}()"
    if function is not None:
        return f"{name} in {function.name.value}(), which the main path does not call as main()"
    return f"{name} outside the main path"


def _function_of(script: Script, node: cst.CSTNode) -> cst.FunctionDef | None:
    return next(
        (s for s in script.module.body if isinstance(s, cst.FunctionDef) and contains(s, node)),
        None,
    )


def _called(script: Script, function: cst.FunctionDef) -> bool:
    """The module names ``function`` anywhere but in its own ``def``."""
    return any(n is not function.name for n in script.names.get(function.name.value, []))


def unmapped_server(analysis: Analysis) -> Declined | None:
    """Why a Flask script that serves an app (``app.run()``, another server) was left as it
    was, when no rule changed it: for such a script "nothing to do" is never the answer."""
    script = analysis.script
    if not script.flask:
        return None
    for call in script.calls:
        name = dotted(call.func) or ""
        owner, _, last = name.rpartition(".")
        if last not in SERVERS or (last == "run" and not _serves(script, owner)):
            continue
        function = _function_of(script, call)
        made = _made_by(script, owner)
        if script.app is None and made is not None:
            return Declined(
                call,
                f"{owner} comes from {made}(), not a module-level flask.Flask(...): flaskd has no"
                f" app here to attach a Service to",
            )
        if function is not None and not _called(script, function):
            return Declined(
                call, f"{name}() in a function this module never calls, {function.name.value}()"
            )
        if owner != script.app:
            return Declined(
                call, f"a server other than app.run(), {name}(), that flaskd cannot map"
            )
        return Declined(call, f"{name}() serves the app in a way flaskd cannot map")
    return None


def _made_by(script: Script, name: str) -> str | None:
    """The callee of a module-level ``name = callee(...)``, if that is how ``name`` is bound."""
    for stmt in script.module.body:
        found = assigned_call(stmt)
        if found is not None and found[0] == name:
            return dotted(found[1].func) or "a call"
    return None


def _serves(script: Script, owner: str) -> bool:
    """``owner.run()`` serves an app: ``owner`` is the app, or made by a call that makes one
    (``create_app()``, ``SocketIO(app)``)."""
    if not owner or "." in owner:
        return False
    if owner == script.app:
        return True
    made = _made_by(script, owner)
    qualified = script.imports.names.get((made or "").partition(".")[0], "")
    return made is not None and (
        "app" in owner.lower() or "app" in made.lower() or qualified.startswith("flask")
    )


def computed_reason(
    script: Script, parser: Parser | None, setting: str, value: cst.BaseExpression
) -> str:
    """Why the serving ``setting`` given to app.run() cannot be told at import time, naming
    the option or the main-path variable it is computed from (and whose alias that is)."""
    code = cst.Module([]).code_for_node
    what = f"{setting}={code(value)}"
    cannot = f"flaskd cannot tell the serving {setting}"
    option = _option_read(parser, value)
    if option is not None:
        return f"{what} is computed from {option}; {cannot}"
    main = script.main
    body = main.body if main is not None and main.kind != "module" else []
    local = bound_names(body)
    name = next((n.value for n in read_names(value) if n.value in local), None)
    if name is None:
        return f"{what} is computed on the main path; {cannot}"
    assigned = [s for s in body if name in bound_names([s])]
    first = assigned[0].body[0] if isinstance(assigned[0], cst.SimpleStatementLine) else None
    expr = first.value if isinstance(first, cst.Assign) else None
    origin = _alias_of(parser, expr)
    if origin is not None and len(assigned) > 1:
        return (
            f"{what} reads {name}, an alias of {origin} that the main path assigns"
            f" {len(assigned)} times; {cannot}: give the option a default= and app.run()"
            f" {origin} itself"
        )
    if origin is not None:
        return f"{what} is computed from {name}, an alias of {origin}; {cannot}"
    source = _option_read(parser, expr) if expr is not None else None
    if source is not None:
        return f"{what} reads {name}, computed from {source} on the main path; {cannot}"
    return f"{what} reads {name}, which the main path computes; {cannot}"


def _alias_of(parser: Parser | None, expr: cst.BaseExpression | None) -> str | None:
    """``args.port`` when ``expr`` is that option, maybe in ``int()`` or ``str()``."""
    if isinstance(expr, cst.Call) and dotted(expr.func) in ("int", "str") and len(expr.args) == 1:
        expr = expr.args[0].value
    if parser is None or expr is None or parser.dest_read(expr) is None:
        return None
    return cst.Module([]).code_for_node(expr)


def _option_read(parser: Parser | None, value: cst.BaseExpression) -> str | None:
    """The first option ``value`` reads (``args.port``), as written."""
    if parser is None:
        return None
    found = next((n for n in walk(value) if parser.dest_read(n) is not None), None)
    return cst.Module([]).code_for_node(found) if found is not None else None
