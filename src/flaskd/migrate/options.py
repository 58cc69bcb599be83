"""Rule ``options``: reads of the parsed options become reads of the app's configuration.

``args.db``, ``vars(args)["db"]`` and ``getattr(args, "db")`` become
``app.config["DB"]``: flaskd fills ``app.config`` from the same parser in
every mode (flags as a script, env vars and config files under any server).
A helper given the options whole (``init_db(args)``) is given ``app.config``
instead, and reads it the same way (``a.db`` becomes ``a["DB"]``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import libcst as cst

from ._edit import Context
from ._names import (
    bound_names,
    dotted,
    fstring_quotes_reason,
    string_quote,
    string_value,
)
from ._parsing import Parser
from ._script import Analysis, Declined, Script, visible_names
from .parser import find_parser
from .serve import find_run

ID = "options"


@dataclasses.dataclass
class Read:
    """One read of the parsed options, and the config key it becomes."""

    name: cst.Name
    #: The expression to replace (``args.db``, ``vars(args)["db"]``, ``getattr(args, "db")``).
    expr: cst.BaseExpression
    key: str
    #: For ``getattr(args, "x", default)``: the default.
    default: cst.BaseExpression | None = None
    #: The mapping read instead, when not the app's config: a helper's parameter.
    mapping: str | None = None
    #: The options passed whole to a helper (``init_db(args)``): becomes ``app.config``.
    whole: bool = False
    #: The quote for the key, valid where the read is (``'`` inside ``f"..."``).
    quote: str = '"'


def find_reads(analysis: Analysis) -> list[Read]:
    """Every read of the parsed options, wherever it is, and the config key it becomes."""
    script = analysis.script
    parser = analysis.get(find_parser)
    found = analysis.get(find_run)  # which may give an option the address as an alias
    reads: list[Read] = []
    if parser is None or parser.namespace is None or script.main is None:
        return reads
    run = found.stmt if found is not None else None  # the serve rule maps those
    helpers: dict[str, str] = {}
    for name, stack in visible_names(script, parser.namespace, parser.parse, run):
        read = _read(parser, name, stack)
        if read is None:
            helper = _helper_param(script, name, stack)
            helpers[helper.name.value] = _param_of(script, helper, name, stack)
            reads.append(Read(name, name, "", whole=True))
        elif read.key:
            reads.append(_quoted(read, stack))
    for function in script.module.body:
        if isinstance(function, cst.FunctionDef) and function.name.value in helpers:
            param = helpers[function.name.value]
            if param in bound_names([function.body]):
                raise Declined(function, f"{function.name.value}() reassigns {param!r}")
            for name, stack in _names_in(script, function, param):
                read = _read(parser, name, stack)
                if read is None:
                    raise Declined(name, f"{param!r} is passed on again; flaskd cannot follow it")
                reads.append(dataclasses.replace(_quoted(read, stack), mapping=param))
    return reads


def _quoted(read: Read, stack: list[cst.CSTNode]) -> Read:
    """``read`` with the quote its key needs where it is (inside f-strings, before 3.12)."""
    quote = string_quote(stack)
    if quote is None:
        code = cst.Module([]).code_for_node(read.expr)
        raise Declined(read.expr, fstring_quotes_reason(code))
    return dataclasses.replace(read, quote=quote)


def _helper_param(script: Script, name: cst.Name, stack: list[cst.CSTNode]) -> cst.FunctionDef:
    """The module-level function ``name`` is passed to as a plain argument (``init_db(args)``)."""
    call = stack[-2] if len(stack) >= 2 else None
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Name):
        for stmt in script.module.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == call.func.value:
                return stmt
    raise Declined(name, f"the parsed options {name.value!r} are used as a whole")


def _param_of(
    script: Script, function: cst.FunctionDef, name: cst.Name, stack: list[cst.CSTNode]
) -> str:
    """The parameter of ``function`` the options arrive in; every call must pass them there."""
    arg, call = stack[-1], stack[-2]
    assert isinstance(arg, cst.Arg)
    assert isinstance(call, cst.Call)
    params = function.params
    if arg.star or params.posonly_params:
        raise Declined(
            name, f"{function.name.value}() gets the options in a way flaskd cannot follow"
        )
    if arg.keyword is not None:
        param = arg.keyword.value
    else:
        index = list(call.args).index(arg)
        if index >= len(params.params):
            raise Declined(name, f"{function.name.value}() gets the options as *args")
        param = params.params[index].name.value
    for other in script.calls:
        if isinstance(other.func, cst.Name) and other.func.value == function.name.value:
            passed = [
                a
                for i, a in enumerate(other.args)
                if (a.keyword is not None and a.keyword.value == param)
                or (
                    a.keyword is None
                    and i < len(params.params)
                    and params.params[i].name.value == param
                )
            ]
            if len(passed) != 1 or dotted(passed[0].value) != name.value:
                raise Declined(other, f"{function.name.value}() is also called without the options")
    return param


def _names_in(
    script: Script, function: cst.FunctionDef, name: str
) -> list[tuple[cst.Name, list[cst.CSTNode]]]:
    """The ``Name`` nodes for ``name`` in a function's body (not where a nested def rebinds it)."""
    return visible_names(script, name, within=function)


def _read(parser: Parser, name: cst.Name, stack: list[cst.CSTNode]) -> Read | None:
    """The read ``name`` is part of; None when it is a plain argument to a call."""
    parent = stack[-1] if stack else None
    if isinstance(parent, cst.NameItem):
        return Read(name, name, "")  # global args: the parser rule removes it
    if parser.as_dict:  # opts = vars(parser.parse_args()): opts["db"] and opts.get("db")
        dest = parser.dest_read(parent) if parent is not None else None
        if dest is not None:
            assert isinstance(parent, cst.Subscript)
            return Read(name, parent, _key(parser, dest, parent))
        call = stack[-2] if len(stack) >= 2 else None
        if (
            isinstance(parent, cst.Attribute)
            and parent.attr.value == "get"
            and isinstance(call, cst.Call)
            and call.func is parent
            and len(call.args) == 1
            and (dest := string_value(call.args[0].value)) is not None
        ):
            return Read(name, call, _key(parser, dest, call))
        raise Declined(name, f"the parsed options {name.value!r} are used as a whole")
    if isinstance(parent, cst.Attribute) and parent.value is name:
        return Read(name, parent, _key(parser, parent.attr.value, parent))
    if isinstance(parent, cst.Arg) and len(stack) >= 2 and isinstance(stack[-2], cst.Call):
        call = stack[-2]
        func = dotted(call.func)
        if func == "vars" and len(stack) >= 3 and isinstance(stack[-3], cst.Subscript):
            subscript = stack[-3]
            assert isinstance(subscript, cst.Subscript)
            index = subscript.slice[0].slice if len(subscript.slice) == 1 else None
            key = string_value(index.value) if isinstance(index, cst.Index) else None
            if key is not None:
                return Read(name, subscript, _key(parser, key, subscript))
        if func == "getattr" and call.args[0].value is name and len(call.args) in (2, 3):
            key = string_value(call.args[1].value)
            if key is not None:
                default = call.args[2].value if len(call.args) == 3 else None
                return Read(name, call, _key(parser, key, call), default)
        if parent.keyword is not None or not parent.star:
            return None
    raise Declined(name, f"the parsed options {name.value!r} are used as a whole")


def _key(parser: Parser, dest: str, node: cst.CSTNode) -> str:
    key = parser.key(dest)
    if key is None:
        raise Declined(node, f"{parser.namespace}.{dest}: no option has dest {dest!r}")
    return key


# -- the rewrite ----------------------------------------------------------------------------------


class OptionsToConfig(cst.CSTTransformer):
    def __init__(self, context: Context, app: str, reads: list[Read]) -> None:
        self.app = app
        self.reads = {id(context.now(r.expr)): r for r in reads}

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


def needed(analysis: Analysis) -> bool:
    return bool(analysis.get(find_reads))


def apply(module: cst.Module, context: Context) -> cst.Module:
    reads = context.analysis.get(find_reads)
    app = context.analysis.script.app
    if not reads or app is None:
        return module
    targets = [context.now(r.expr) for r in reads]
    return context.rewrite(module, OptionsToConfig(context, app, reads), targets)
