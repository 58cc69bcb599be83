"""Rule ``serve``: ``app.run(...)`` becomes ``service.main()``.

``service.main()`` parses the command line (the app's options plus flaskd's
serving options) and serves with a production server. A literal or
module-level host and port become the service's serving defaults
(``serve={...}``); an option that gave them under another flag gets
``--host``/``--port`` as an alias, the flags flaskd serves on. ``debug=True``
is not carried over: the debugger is for ``--dev`` only.
"""

from __future__ import annotations

import libcst as cst

from ._analysis import Facts, analyze
from ._edit import (
    Context,
    MainPathEditor,
    ensure_service,
    reflow_service,
    remove_from_block,
    service_call,
)
from ._names import bound_names, declared_global

ID = "serve"
DEBUG_NOTE = "# debug: pass --dev for Flask's reloader and debugger (never on in production)"


def apply(module: cst.Module, context: Context) -> cst.Module:
    facts = analyze(module)
    if facts.run is None:
        return module
    module, facts, service = ensure_service(module, context)
    run = facts.run
    assert run is not None
    assert facts.main is not None
    module = _add_aliases(module, facts)
    facts = analyze(module)
    run = facts.run
    assert run is not None
    assert facts.main is not None
    module = _add_serve_defaults(module, facts)
    facts = analyze(module)
    run = facts.run
    assert run is not None
    assert facts.main is not None

    main_call = cst.parse_statement(f"{service}.main()\n")
    leading = list(run.stmt.leading_lines)
    if run.debug:
        leading.append(cst.EmptyLine(comment=cst.Comment(DEBUG_NOTE)))
    main_call = main_call.with_changes(leading_lines=leading)
    if facts.main.kind == "module":
        guard = cst.parse_statement(f'if __name__ == "__main__":\n    {service}.main()\n')
        assert isinstance(guard, cst.If)
        comments = [line for line in leading if line.comment is not None]
        block = guard.body.with_changes(body=[main_call.with_changes(leading_lines=comments)])
        replacement = guard.with_changes(body=block, leading_lines=[cst.EmptyLine()] * 2)
        body = [replacement if s is run.stmt else s for s in module.body]
        return reflow_service(module.with_changes(body=body))
    return reflow_service(module.visit(_ReplaceRun(facts, run.stmt, main_call)))


def _add_aliases(module: cst.Module, facts: Facts) -> cst.Module:
    """``add_argument("--listen-port")`` becomes ``add_argument("--listen-port", "--port")``."""
    assert facts.run is not None
    for setting, option in facts.run.alias.items():
        args = list(option.call.args)
        last = max(i for i, a in enumerate(args) if a.keyword is None)
        flag = cst.Arg(cst.SimpleString(f'"--{setting}"'), comma=args[last].comma)
        args[last] = args[last].with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
        args.insert(last + 1, flag)
        result = module.deep_replace(option.call, option.call.with_changes(args=args))
        assert isinstance(result, cst.Module)
        module = result
    return module


def _add_serve_defaults(module: cst.Module, facts: Facts) -> cst.Module:
    assert facts.run is not None
    if not facts.run.serve:
        return module
    call = service_call(facts)
    code = cst.Module([]).code_for_node
    items = ", ".join(f'"{k}": {code(v)}' for k, v in facts.run.serve.items())
    args = list(call.args)
    args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    args.append(
        cst.Arg(
            cst.parse_expression("{" + items + "}"),
            keyword=cst.Name("serve"),
            equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
        )
    )
    result = module.deep_replace(call, call.with_changes(args=args))
    assert isinstance(result, cst.Module)
    return result


class _ReplaceRun(MainPathEditor):
    """Swap ``app.run(...)`` for ``service.main()``; main() keeps only its docstring."""

    def __init__(self, facts: Facts, run: cst.BaseStatement, main_call: cst.BaseStatement) -> None:
        assert facts.main is not None
        super().__init__(facts.main, set())
        self.run = run
        self.main_call = main_call

    def edit_block(self, original: cst.BaseSuite, updated: cst.BaseSuite) -> cst.BaseSuite:
        assert isinstance(original, cst.IndentedBlock)
        rest = [s for s in original.body if s is not self.run]
        unused_globals = {
            id(s)
            for s in rest
            if isinstance(s, cst.SimpleStatementLine)
            and all(isinstance(x, cst.Global) for x in s.body)
            and not declared_global([s]) & bound_names(rest)
        }
        return remove_from_block(original, updated, unused_globals, {id(self.run): self.main_call})
