"""Rule ``shutdown``: code after ``app.run()`` becomes a ``@service.on_shutdown`` hook.

In a script, what follows ``app.run()`` runs once the development server
stops. flaskd runs shutdown hooks on a graceful stop (SIGTERM, SIGINT) in
every mode, and at exit under servers it does not run.
"""

from __future__ import annotations

import libcst as cst

from ._analysis import analyze
from ._edit import Context, add_hook, ensure_service

ID = "shutdown"
DOC = '"""Run on a graceful stop: the code that followed app.run() in the script."""'


def apply(module: cst.Module, context: Context) -> cst.Module:
    facts = analyze(module)
    if not facts.shutdown:
        return module
    _, facts, _ = ensure_service(module, context)
    # Names it assigns stay its own locals; what it reads is global (the startup rule made it so).
    return add_hook(
        facts, "on_shutdown", facts.shutdown, names=["shutdown", "stop", "on_shutdown"], doc=DOC
    )
