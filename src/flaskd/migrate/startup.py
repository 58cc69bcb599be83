"""Rule ``startup``: init code from the main path becomes a ``@service.on_startup`` hook.

A WSGI server imports the module, so the ``__main__`` block (or ``main()``)
never runs there: its init code moves into a hook that runs once per process
in every mode. Names it assigns that other code reads become module globals
(``global`` in the hook, ``name = None`` at module level) so route handlers
keep finding them.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import libcst as cst

from ._edit import Context, MainPathEditor, add_hook, ensure_service, with_todo
from ._names import bound_names, declared_global, dotted, read_names, string_value, walk
from ._parsing import Parser
from ._script import Analysis, Declined, Script, calls, check_movable, is_docstring, variables
from .parser import find_copies, find_parser
from .serve import find_run

ID = "startup"
DOC = '"""Run once per process before serving: the start-up code of the script\'s main path."""'


def find_init(analysis: Analysis) -> list[cst.BaseStatement]:
    """Main-path statements that are init code: they become the start-up hook."""
    script = analysis.script
    main = script.main
    if main is None or not script.argparse:
        return []
    parser = analysis.get(find_parser)
    run = analysis.get(find_run)
    init: list[cst.BaseStatement] = []
    skip: set[int] = set()
    if parser is not None:
        skip |= {id(s) for s in parser.statements}
        if parser.parse is not None:
            skip.add(id(parser.parse))
        if parser.handoff is not None:
            skip.add(id(parser.handoff))
    if run is not None:
        skip.add(id(run.stmt))
        skip |= {id(s) for s in run.shutdown}
        skip |= {id(s) for s in run.dropped}
    skip |= {id(s) for s in analysis.get(find_copies)}
    skip |= {id(s) for s in analysis.get(find_port_checks)}
    if parser is not None and parser.parse is not None and parser.parse in script.module.body:
        init = _import_time_init(script, parser, skip)
    if main.kind == "module" or run is None:
        return init  # without app.run, the main path is not how the app is served
    body = [s for s in main.body if id(s) not in skip and not _is_trivial(script, s)]
    if main.kind == "function":
        body = [s for s in body if not _is_global(s)]
        if body and is_docstring(body[0]) and main.body and body[0] is main.body[0]:
            body = body[1:]
    for stmt in body:
        check_movable(script, stmt)
    return init + body


def find_port_checks(analysis: Analysis) -> list[cst.If]:
    """Main-path checks that the serving address is free (``if port_in_use(args.port): raise
    ...``). In a hook they would run once flaskd has bound that address, and always fail;
    flaskd fails itself when it cannot bind, so the rule drops them (with a TODO)."""
    script = analysis.script
    main = script.main
    parser = analysis.get(find_parser)
    if main is None or main.kind == "module" or parser is None or analysis.get(find_run) is None:
        return []
    return [
        s
        for s in main.body
        if isinstance(s, cst.If)
        and s.orelse is None
        and reads_address(parser, s.test)
        and _stops(s.body)
    ]


def reads_address(parser: Parser, node: cst.CSTNode) -> str | None:
    """The serving setting (``port``, ``host``) that ``node`` reads from the options, if any."""
    for found in walk(node):
        dest = parser.dest_read(found)
        option = next((o for o in parser.options if o.dest == dest), None)
        if option is not None and option.address is not None:
            return option.address
    return None


def _stops(block: cst.BaseSuite) -> bool:
    """The block ends the script: its last statement raises or exits."""
    last = block.body[-1] if isinstance(block, cst.IndentedBlock) else None
    small = last.body[-1] if isinstance(last, cst.SimpleStatementLine) else None
    if isinstance(small, cst.Raise):
        return True
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        name = dotted(small.value.func) or ""
        return name in ("sys.exit", "exit", "quit", "os._exit") or name.endswith(".error")
    return False


PER_WORKER = (
    "the start-up code from the main path ran once per run of the script; in the start-up hook"
    " it runs once per process: in each worker of a pre-fork server, and again at every worker"
    " restart"
)
DESTRUCTIVE = (
    "the start-up code {what}: it now runs in every worker process and at every worker"
    " restart, not once; move it to a one-off command (flask --app ... init-db) if that"
    " would lose data"
)


def init_notes(
    analysis: Analysis, folder: Path | None, original: Analysis
) -> list[tuple[cst.CSTNode, str, str]]:
    """What the report says about the init code the hook now runs (node, kind, text): that it
    runs once per worker, and a warning when it drops data (``DROP TABLE`` in its SQL, in a schema
    file it reads from ``folder``, or ``drop_all()``). ``analysis`` is the last one, of the
    argparse script a click or optparse one became; the node is of the ``original`` file."""
    init = analysis.get(find_init)
    if not init:
        return []
    at = _in_original(analysis, original, init[0])
    notes: list[tuple[cst.CSTNode, str, str]] = [(at, "note", PER_WORKER)]
    script = analysis.script
    functions = {s.name.value: s for s in script.module.body if isinstance(s, cst.FunctionDef)}
    code: list[cst.CSTNode] = list(init)
    for stmt in init:  # and the module's functions it calls, one level down
        for call in calls(stmt):
            if isinstance(call.func, cst.Name) and call.func.value in functions:
                code.append(functions[call.func.value])
    for node in code:
        what = _drops(node, folder)
        if what is not None:
            notes.append((at, "warning", DESTRUCTIVE.format(what=what)))
            break
    return notes


def _in_original(analysis: Analysis, original: Analysis, stmt: cst.CSTNode) -> cst.CSTNode:
    """``stmt`` of the main path, or the statement it was in the original file: the click and
    optparse rules add the parser above the main path's code and keep the rest in order, so
    the statement as many from the end of the main path's body."""
    if analysis is original:
        return stmt
    main, before = analysis.script.main, original.script.main
    body = main.body if main is not None else []
    if original.script.click is not None:
        click = original.script.click.body
        old = list(click.body) if isinstance(click, cst.IndentedBlock) else []
    else:
        old = before.body if before is not None else []
    back = len(body) - next((i for i, s in enumerate(body) if s is stmt), len(body))
    if 0 < back <= len(old):
        return old[len(old) - back]
    return original.script.click or (before.guard if before is not None else None) or stmt


def _drops(node: cst.CSTNode, folder: Path | None) -> str | None:
    for found in walk(node):
        if (
            isinstance(found, cst.Call)
            and isinstance(found.func, cst.Attribute)
            and found.func.attr.value == "drop_all"
        ):
            return "calls drop_all()"
        text = string_value(found) if isinstance(found, cst.SimpleString) else None
        if text is None:
            continue
        if "DROP TABLE" in text.upper():
            return "runs DROP TABLE"
        if folder is not None and text.endswith(".sql") and "/" not in text.lstrip("./"):
            schema = folder / text
            with contextlib.suppress(OSError, UnicodeDecodeError):
                if "DROP TABLE" in schema.read_text().upper():
                    return f"runs {text}, which has DROP TABLE"
    return None


def _is_global(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, cst.Global) for s in stmt.body
    )


def _is_trivial(script: Script, stmt: cst.BaseStatement) -> bool:
    """``pass``, or the ``service.main()`` a migrated script already has."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    if isinstance(small, cst.Pass):
        return True
    return (
        isinstance(small, cst.Expr)
        and isinstance(small.value, cst.Call)
        and script.service is not None
        and dotted(small.value.func) == f"{script.service}.main"
    )


def _import_time_init(script: Script, parser: Parser, skip: set[int]) -> list[cst.BaseStatement]:
    """Module-level statements that need the parsed options, and what needs those."""
    if parser.parse is None or parser.namespace is None:
        return []
    body = list(script.module.body)
    start = body.index(parser.parse) + 1
    tainted = {parser.namespace}
    moved: list[cst.BaseStatement] = []
    for stmt in body[start:]:
        if id(stmt) in skip or stmt is (script.main.guard if script.main else None):
            continue
        reads = {n.value for n in read_names(stmt, at_import=True)}
        if reads & tainted:
            if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
                raise Declined(stmt, "a definition that needs the parsed options at import time")
            check_movable(script, stmt)
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


# -- the rewrite ----------------------------------------------------------------------------------


def needed(analysis: Analysis) -> bool:
    return bool(analysis.get(find_init) or analysis.get(find_port_checks))


PORT_CHECK = (
    "the script stopped when the {setting} was taken ({code}); that check is dropped: flaskd"
    " binds the address before this hook runs (the check would always fail here), and stops"
    " itself with an error naming the address when it is taken"
)
READS_ADDRESS = (
    "this reads the serving {setting}: flaskd's {setting} setting, which a server given its"
    " own address (waitress-serve --listen, gunicorn --bind) does not follow"
)


def apply(module: cst.Module, context: Context) -> cst.Module:
    analysis = context.analysis
    init = analysis.get(find_init)
    main = analysis.script.main
    checks = analysis.get(find_port_checks)
    if (not init and not checks) or main is None:
        return module
    module, _ = ensure_service(module, context)
    todos = [_check_todo(context, c) for c in checks]
    if checks:
        module = context.rewrite(
            module, MainPathEditor(context, checks), [context.now(c) for c in checks]
        )
    if not init:
        return _todo_on_service(module, context, todos)
    parser = analysis.get(find_parser)
    for stmt in init:
        setting = reads_address(parser, stmt) if parser is not None else None
        if setting is not None:
            now = context.now(stmt)
            module = context.replace(
                module, now, with_todo(now, READS_ADDRESS.format(setting=setting))
            )
    moved = context.ids(init)
    globals_ = _globals(context, init)
    main_path = {id(context.now(s)) for s in (main.guard, main.function) if s is not None}
    outside = bound_names(s for s in module.body if id(s) not in moved | main_path)
    return add_hook(
        module,
        context,
        "on_startup",
        init,
        names=["startup", "start_up", "on_startup"],
        doc=DOC,
        globals_=sorted(globals_),
        placeholders=[g for g in sorted(globals_) if g not in outside],
        todos=todos,
    )


def _check_todo(context: Context, check: cst.If) -> str:
    parser = context.analysis.get(find_parser)
    setting = (reads_address(parser, check.test) if parser is not None else None) or "port"
    code = "if " + cst.Module([]).code_for_node(check.test) + ": ..."
    return PORT_CHECK.format(setting=setting, code=code)


def _todo_on_service(module: cst.Module, context: Context, todos: list[str]) -> cst.Module:
    """The TODOs for dropped checks, above the service when no hook takes them."""
    assert context.service_stmt is not None
    stmt = context.now(context.service_stmt)
    new = stmt
    for todo in todos:
        new = with_todo(new, todo)
    return context.replace(module, stmt, new)


def _globals(context: Context, init: list[cst.BaseStatement]) -> set[str]:
    """Names the hook must declare global: assigned by init code, needed elsewhere."""
    analysis = context.analysis
    main = analysis.script.main
    assert main is not None
    assigned = bound_names(context.now(s) for s in init) - {analysis.script.app or ""}
    if main.kind == "function":
        # main()'s globals, and its locals the code after app.run() (the shutdown hook) reads
        run = analysis.get(find_run)
        shutdown = run.shutdown if run is not None else []
        later = {n.value for s in shutdown for n in read_names(context.now(s))}
        return assigned & (declared_global(main.body) | later)
    run = analysis.get(find_run)
    skip = [*init, run.stmt] if run is not None else init  # app.run() becomes service.main()
    elsewhere = {
        name for name in assigned if next(variables(analysis.script, name, skip), None) is not None
    }
    return assigned & elsewhere
