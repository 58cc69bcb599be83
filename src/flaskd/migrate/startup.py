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
from ._edit import Context, add_hook, ensure_service
from ._names import bound_names, declared_global, is_variable, read_names

ID = "startup"
DOC = '"""Run once per process before serving: the start-up code of the script\'s main path."""'


def apply(module: cst.Module, context: Context) -> cst.Module:
    facts = analyze(module)
    if not facts.init:
        return module
    _, facts, _ = ensure_service(module, context)
    assert facts.main is not None
    moved = {id(s) for s in facts.init}
    globals_ = _globals(facts, facts.init, moved)
    outside = bound_names(
        s
        for s in facts.module.body
        if id(s) not in moved and s is not facts.main.guard and s is not facts.main.function
    )
    return add_hook(
        facts,
        "on_startup",
        facts.init,
        names=["startup", "start_up", "on_startup"],
        doc=DOC,
        globals_=sorted(globals_),
        placeholders=[g for g in sorted(globals_) if g not in outside],
    )


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
        def __init__(self) -> None:
            self.stack: list[cst.CSTNode] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            parent = self.stack[-1] if self.stack else None
            self.stack.append(node)  # on_leave still runs
            if id(node) in moved or not is_variable(node, parent):
                return False
            if isinstance(node, cst.Name):
                seen.add(node.value)
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            self.stack.pop()

    facts.module.visit(Outside())
    return assigned & seen
