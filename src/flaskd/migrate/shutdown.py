"""Rule ``shutdown``: code after ``app.run()`` becomes a ``@service.on_shutdown`` hook.

In a script, what follows ``app.run()`` runs once the development server
stops. flaskd runs shutdown hooks on a graceful stop (SIGTERM, SIGINT) in
every mode, and at exit under servers it does not run.
"""

from __future__ import annotations

import libcst as cst

from ._edit import Context, add_hook, ensure_service
from ._script import Analysis
from .serve import find_run

ID = "shutdown"
DOC = '"""Run on a graceful stop: the code that followed app.run() in the script."""'


def _code(analysis: Analysis) -> list[cst.BaseStatement]:
    run = analysis.get(find_run)
    return run.shutdown if run is not None else []


def needed(analysis: Analysis) -> bool:
    return bool(_code(analysis))


def apply(module: cst.Module, context: Context) -> cst.Module:
    code = _code(context.analysis)
    if not code:
        return module
    module, _ = ensure_service(module, context)
    # Names it assigns stay its own locals; what it reads is global (the startup rule made it so).
    return add_hook(
        module,
        context,
        "on_shutdown",
        code,
        names=["shutdown", "stop", "on_shutdown"],
        doc=DOC,
    )
