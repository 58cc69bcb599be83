"""Rule ``first-request``: ``@app.before_first_request`` becomes ``@service.on_startup``.

Flask 2.3 removed ``before_first_request``; a start-up hook runs once per
process before the first request, and fails at start rather than on the first
request. A blueprint's ``before_app_first_request`` in a module without the
app cannot be registered there: it gets a TODO.
"""

from __future__ import annotations

import dataclasses

import libcst as cst

from ._edit import Context, ensure_service, with_todo
from ._names import dotted, local_names
from ._script import Analysis, Declined

ID = "first-request"
ORPHAN = (
    "before_app_first_request was removed in Flask 2.3;"
    " register this with @service.on_startup in the app's module"
)


@dataclasses.dataclass
class FirstRequest:
    #: Module-level functions decorated with ``@app.before_first_request`` and the like.
    hooks: list[cst.FunctionDef]
    #: Blueprint hooks that cannot be converted here (the module holds no app).
    orphans: list[cst.FunctionDef]


def owner(app: str | None, decorator: cst.Decorator) -> str | None:
    """The app or blueprint a first-request decorator registers on; None for another one."""
    name = dotted(decorator.decorator)
    if name is None or "." not in name:
        return None
    owner, _, method = name.rpartition(".")
    if method == "before_first_request" and (app is None or owner == app):
        return owner
    if method == "before_app_first_request":
        return owner
    return None


def find_hooks(analysis: Analysis) -> FirstRequest:
    script = analysis.script
    found = FirstRequest([], [])
    if not script.flask:
        return found
    for stmt in script.module.body:
        if not isinstance(stmt, cst.FunctionDef):
            continue
        if not any(owner(script.app, d) for d in stmt.decorators):
            continue
        if script.app is None:
            found.orphans.append(stmt)
            continue
        p = stmt.params
        if (
            p.params
            or p.posonly_params
            or p.kwonly_params
            or p.star_arg != cst.MaybeSentinel.DEFAULT
        ):
            raise Declined(
                stmt, f"{stmt.name.value}() is a first-request hook that takes arguments"
            )
        if isinstance(p.star_kwarg, cst.Param) or stmt.asynchronous is not None:
            raise Declined(stmt, f"{stmt.name.value}() cannot become a start-up hook")
        found.hooks.append(stmt)
    return found


class FirstRequestToStartup(cst.CSTTransformer):
    def __init__(self, context: Context, found: FirstRequest) -> None:
        self.app = context.analysis.script.app
        self.service = context.service
        self.hooks = context.ids(found.hooks)
        self.orphans = context.ids(found.orphans)

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
        decorators = [decorator if owner(self.app, d) else d for d in updated_node.decorators]
        app = self.app or "app"
        param = app if app not in local_names(original_node) else "_app"
        params = updated_node.params.with_changes(params=[cst.Param(cst.Name(param))])
        return updated_node.with_changes(decorators=decorators, params=params)


def apply(module: cst.Module, context: Context) -> cst.Module:
    found = context.analysis.get(find_hooks)
    if found.hooks:
        module, _ = ensure_service(module, context)
    elif not found.orphans:
        return module
    functions = [context.now(f) for f in (*found.hooks, *found.orphans)]
    return context.rewrite(module, FirstRequestToStartup(context, found), functions)
