"""Facts about how a script serves its app, for the ``serve`` rule and the engine: another
server beside ``app.run()``, where a misplaced ``app.run()`` is, and why a Flask script that
serves an app was left unconverted."""

from __future__ import annotations

import libcst as cst

from ._names import dotted
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
