"""Rule ``options``: reads of the parsed options become reads of the app's configuration.

``args.db``, ``vars(args)["db"]`` and ``getattr(args, "db")`` become
``app.config["DB"]``: flaskd fills ``app.config`` from the same parser in
every mode (flags as a script, env vars and config files under any server).
A helper given the options whole (``init_db(args)``) is given ``app.config``
instead, and reads it the same way (``a.db`` becomes ``a["DB"]``).
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from ._analysis import Read, analyze
from ._edit import Context

ID = "options"


class OptionsToConfig(cst.CSTTransformer):
    def __init__(self, app: str, reads: list[Read]) -> None:
        self.app = app
        self.reads = {id(r.expr): r for r in reads}

    def on_leave(self, original_node: Any, updated_node: Any) -> Any:
        read = self.reads.get(id(original_node))
        if read is None:
            return updated_node
        mapping = read.mapping or f"{self.app}.config"
        if read.whole:
            return cst.parse_expression(mapping)
        key = f"{read.quote}{read.key}{read.quote}"  # inside f"...", '...' (Python 3.11)
        if read.default is not None:
            default = cst.Module([]).code_for_node(read.default)
            return cst.parse_expression(f"{mapping}.get({key}, {default})")
        return cst.parse_expression(f"{mapping}[{key}]")


def apply(module: cst.Module, context: Context) -> cst.Module:
    facts = analyze(module)
    if not facts.reads or facts.app is None:
        return module
    return module.visit(OptionsToConfig(facts.app, facts.reads))
