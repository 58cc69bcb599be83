"""Rule ``first-request``: ``@app.before_first_request`` becomes ``@service.on_startup``.

Flask 2.3 removed ``before_first_request``; a start-up hook runs once per
process before the first request, and fails at start rather than on the first
request. A blueprint's ``before_app_first_request`` in a module without the
app cannot be registered there: it gets a TODO.
"""

from __future__ import annotations

import libcst as cst

from ._analysis import Facts, analyze, first_request_owner
from ._edit import Context, ensure_service, with_todo
from ._names import local_names

ID = "first-request"
ORPHAN = (
    "before_app_first_request was removed in Flask 2.3;"
    " register this with @service.on_startup in the app's module"
)


class FirstRequestToStartup(cst.CSTTransformer):
    def __init__(self, facts: Facts, service: str | None) -> None:
        self.facts = facts
        self.service = service
        self.hooks = {id(f) for f in facts.first_request}
        self.orphans = {id(f) for f in facts.orphan_first_request}

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        if id(original_node) in self.orphans:
            result = with_todo(updated_node, ORPHAN)
            assert isinstance(result, cst.FunctionDef)
            return result
        if id(original_node) not in self.hooks:
            return updated_node
        decorator = cst.Decorator(cst.parse_expression(f"{self.service}.on_startup"))
        decorators = [
            decorator if first_request_owner(self.facts, d) else d for d in updated_node.decorators
        ]
        app = self.facts.app or "app"
        param = app if app not in local_names(original_node) else "_app"
        params = updated_node.params.with_changes(params=[cst.Param(cst.Name(param))])
        return updated_node.with_changes(decorators=decorators, params=params)


def apply(module: cst.Module, context: Context) -> cst.Module:
    facts = analyze(module)
    service = None
    if facts.first_request:
        module, facts, service = ensure_service(module, context)
    elif not facts.orphan_first_request:
        return module
    return module.visit(FirstRequestToStartup(facts, service))
