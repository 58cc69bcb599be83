"""Rule ``shutdown``: code after ``app.run()`` becomes a ``@service.on_shutdown`` hook.

In a script, what follows ``app.run()`` runs once the development server
stops. flaskd runs shutdown hooks on a graceful stop (SIGTERM, SIGINT) in
every mode, and at exit under servers it does not run.
"""

from __future__ import annotations

import libcst as cst

from ._analysis import analyze
from ._edit import (
    Context,
    MainPathEditor,
    Statement,
    after_service,
    blank,
    ensure_service,
    free_name,
)
from ._names import bound_names, dotted

ID = "shutdown"
DOC = '"""Run on a graceful stop: the code that followed app.run() in the script."""'


def apply(module: cst.Module, context: Context) -> cst.Module:
    facts = analyze(module)
    if not facts.shutdown:
        return module
    module, facts, service = ensure_service(module, context)
    assert facts.main is not None
    moved = {id(s) for s in facts.shutdown}
    # Names it assigns stay its own locals; what it reads is global (the startup rule made it so).
    name = free_name(bound_names(facts.module.body), ["shutdown", "stop", "on_shutdown"])
    hook = cst.parse_statement(f"@{service}.on_shutdown\ndef {name}({facts.app}):\n    {DOC}\n")
    assert isinstance(hook, cst.FunctionDef)
    assert isinstance(hook.body, cst.IndentedBlock)
    body = [hook.body.body[0], blank(facts.shutdown[0], 0), *facts.shutdown[1:]]
    new: Statement = blank(hook.with_changes(body=hook.body.with_changes(body=body)), 2)
    module = module.visit(MainPathEditor(facts.main, moved))
    facts = analyze(module)
    statements = list(module.body)
    at = after_service(facts)
    while at < len(statements) and _is_startup_hook(statements[at], service):
        at += 1  # after the start-up hook, which it usually mirrors
    if at < len(statements) and len(statements[at].leading_lines) < 2:
        statements[at] = blank(statements[at], 2)
    statements.insert(at, new)
    return module.with_changes(body=statements)


def _is_startup_hook(stmt: cst.BaseStatement, service: str) -> bool:
    if isinstance(stmt, cst.SimpleStatementLine):  # a ``name = None`` placeholder
        return all(isinstance(s, cst.Assign) and dotted(s.value) == "None" for s in stmt.body)
    return isinstance(stmt, cst.FunctionDef) and any(
        cst.Module([]).code_for_node(d.decorator) == f"{service}.on_startup"
        for d in stmt.decorators
    )
