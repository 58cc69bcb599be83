"""Rule ``startup``: init code from the main path becomes a ``@service.on_startup`` hook.

A WSGI server imports the module, so the ``__main__`` block (or ``main()``)
never runs there: its init code moves into a hook that runs once per process
in every mode. Names it assigns that other code reads become module globals
(``global`` in the hook, ``name = None`` at module level) so route handlers
keep finding them.
"""

from __future__ import annotations

import libcst as cst

from ._analysis import Facts, analyze
from ._edit import (
    Context,
    MainPathEditor,
    Statement,
    after_service,
    blank,
    ensure_service,
    free_name,
)
from ._names import bound_names, declared_global, read_names

ID = "startup"
DOC = '"""Run once per process before serving: the start-up code of the script\'s main path."""'


def apply(module: cst.Module, context: Context) -> cst.Module:
    facts = analyze(module)
    if not facts.init:
        return module
    module, facts, service = ensure_service(module, context)
    assert facts.main is not None
    assert facts.app is not None
    init = facts.init
    moved = {id(s) for s in init}
    globals_ = _globals(facts, init, moved)
    outside = bound_names(
        s
        for s in facts.module.body
        if id(s) not in moved and s is not facts.main.guard and s is not facts.main.function
    )
    placeholders = [g for g in sorted(globals_) if g not in outside]

    name = free_name(bound_names(facts.module.body), ["startup", "start_up", "on_startup"])
    hook = cst.parse_statement(f"@{service}.on_startup\ndef {name}({facts.app}):\n    {DOC}\n")
    assert isinstance(hook, cst.FunctionDef)
    assert isinstance(hook.body, cst.IndentedBlock)
    head: list[cst.BaseStatement] = [hook.body.body[0]]
    if globals_:
        head.append(cst.parse_statement(f"global {', '.join(sorted(globals_))}\n"))
    body = [*head, blank(init[0], 0), *init[1:]]
    hook = blank(hook.with_changes(body=hook.body.with_changes(body=body)), 2)

    new: list[Statement] = [cst.parse_statement(f"{g} = None\n") for g in placeholders]
    if new:
        new[0] = blank(new[0], 1)
    new.append(hook)
    module = module.visit(MainPathEditor(facts.main, moved))
    facts = analyze(module)
    body_list = list(module.body)
    at = after_service(facts)
    if at < len(body_list) and len(body_list[at].leading_lines) < 2:
        body_list[at] = blank(body_list[at], 2)
    body_list[at:at] = new
    return module.with_changes(body=body_list)


def _globals(facts: Facts, init: list[cst.BaseStatement], moved: set[int]) -> set[str]:
    """Names the hook must declare global: assigned by init code, needed elsewhere."""
    assert facts.main is not None
    assigned = bound_names(init) - {facts.app or ""}
    if facts.main.kind == "function":
        # main()'s globals, and its locals the code after app.run() (the shutdown hook) reads
        later = {n.value for s in facts.shutdown for n in read_names(s)}
        return assigned & (declared_global(facts.main.body) | later)
    seen: set[str] = set()

    class Outside(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if id(node) in moved:
                return False
            if isinstance(node, cst.Attribute):
                node.value.visit(self)
                return False
            if isinstance(node, cst.Name):
                seen.add(node.value)
            return True

    facts.module.visit(Outside())
    return assigned & seen
