"""Rule ``click``: a ``main()`` that takes its options from click gets an argparse parser.

``@click.command()`` with ``@click.option``/``@click.argument`` decorators
becomes a parser built at the top of ``main()`` and ``args =
parser.parse_args()``; the function's parameters become ``args.<name>``. The
other rules then convert that as any argparse script. Only options whose
mapping is exact are converted (flags, counts, choices, int/float/str types,
``multiple``, ``--x/--no-x``); anything else (prompts, callbacks, ``envvar``,
``click.Path(exists=True)``, groups, ``pass_context``) is declined.
"""

from __future__ import annotations

import libcst as cst

from ._edit import Context, free_name
from ._imports import swap_import
from ._names import (
    Imports,
    bound_names,
    dotted,
    fstring_quotes_reason,
    local_names,
    string_quote,
)
from ._parsing import option_names
from ._script import Declined, is_docstring, visible_names

ID = "click"
TYPES = {
    "int": "int",
    "float": "float",
    "str": "str",
    "click.INT": "int",
    "click.FLOAT": "float",
    "click.STRING": "str",
    "click.UNPROCESSED": "str",
}
COPIED = {"default", "help", "required", "metavar", "nargs"}
DROPPED = {"show_default", "show_choices", "show_envvar"}


def apply(module: cst.Module, context: Context) -> cst.Module:
    script = context.analysis.script
    if script.click is None:
        return module
    function = context.now(script.click)
    imports = script.imports
    decorators = list(function.decorators)
    command = decorators[0].decorator
    if not isinstance(command, cst.Call) or imports.qualify(command.func) != "click.command":
        raise Declined(function, f"{function.name.value}() is not a plain @click.command()")
    taken = local_names(function) | bound_names(module.body)
    parser = free_name(taken, ["parser"])
    namespace = free_name(taken, ["args", "options"])
    lines = [f"{parser} = argparse.ArgumentParser({_command_args(command)})\n"]
    dests: dict[str, str] = {}
    for decorator in decorators[1:]:
        line, dest = _argument(imports, decorator, parser)
        lines.append(line)
        dests[dest] = dest
    lines.append(f"{namespace} = {parser}.parse_args()\n")
    params = function.params
    names = [p.name.value for p in params.params]
    if (
        params.star_arg != cst.MaybeSentinel.DEFAULT
        or params.kwonly_params
        or params.posonly_params
    ):
        raise Declined(function, f"{function.name.value}() takes arguments click does not give")
    if sorted(names) != sorted(dests):
        raise Declined(function, f"{function.name.value}()'s parameters are not its click options")
    if set(names) & set(_globals(function)):
        raise Declined(function, f"{function.name.value}() declares a click option global")

    new_body = [cst.parse_statement(line) for line in lines]
    body = list(function.body.body) if isinstance(function.body, cst.IndentedBlock) else []
    first = 1 if body and is_docstring(body[0]) else 0
    options: dict[int, str] = {}
    for name in names:
        for node, ancestors in visible_names(script, name, within=script.click):
            if string_quote(ancestors) is None:
                raise Declined(node, fstring_quotes_reason(node.value))
            options[id(context.now(node))] = node.value
    renamed = [s.visit(_OptionsToNamespace(options, namespace)) for s in body]
    block = function.body.with_changes(body=[*renamed[:first], *new_body, *renamed[first:]])
    new_function = function.with_changes(
        decorators=[], params=cst.Parameters(), body=block, leading_lines=function.leading_lines
    )
    new_function = new_function.with_changes(
        leading_lines=[*function.leading_lines, *decorators[0].leading_lines]
    )
    module = module.with_changes(body=[new_function if s is function else s for s in module.body])
    return swap_import(module, "click", "argparse")


#: ``@click.command(...)`` arguments that only document: their ``ArgumentParser`` keyword.
COMMAND_DOCS = {"help": "description", "epilog": "epilog"}
#: ``@click.command(...)`` arguments that mean nothing for a lone command (a group's).
COMMAND_DROPPED = {"name", "short_help", "options_metavar"}


def _command_args(command: cst.Call) -> str:
    """The ``ArgumentParser(...)`` arguments for ``@click.command(...)``'s: its help and epilog
    carry over, a command name (only a group reads it) goes; anything else is declined."""
    code = cst.Module([]).code_for_node
    parts = []
    for i, arg in enumerate(command.args):
        keyword = arg.keyword.value if arg.keyword is not None else ("name" if i == 0 else "")
        if keyword in COMMAND_DOCS:
            parts.append(f"{COMMAND_DOCS[keyword]}={code(arg.value)}")
        elif keyword not in COMMAND_DROPPED or arg.star:
            shown = f"{keyword}=" if keyword else "*args"
            raise Declined(command, f"@click.command({shown}...) has no argparse twin")
    return ", ".join(parts)


def _argument(imports: Imports, decorator: cst.Decorator, parser: str) -> tuple[str, str]:
    """The ``add_argument`` line for one ``@click.option``/``@click.argument``, and its dest."""
    call = decorator.decorator
    kind = imports.qualify(call.func) if isinstance(call, cst.Call) else None
    if not isinstance(call, cst.Call) or kind not in ("click.option", "click.argument"):
        raise Declined(decorator, "a decorator other than @click.option or @click.argument")
    code = cst.Module([]).code_for_node
    names, given = option_names(call, "a click option")
    flags = [n for n in names if n.startswith("-")]
    name = next((n for n in reversed(names) if not n.startswith("-")), None)
    keywords: dict[str, str] = {}
    for arg in given:
        assert arg.keyword is not None
        keyword, value = arg.keyword.value, arg.value
        if keyword in COPIED:
            keywords[keyword] = code(value)
        elif keyword == "type":
            keywords.update(_type(imports, value, call))
        elif keyword == "is_flag" and dotted(value) == "True":
            keywords["action"] = '"store_true"'
        elif keyword == "multiple" and dotted(value) == "True":
            keywords["action"] = '"append"'
            keywords.setdefault("default", "[]")  # click gives () when the option is absent
        elif keyword == "count" and dotted(value) == "True":
            keywords["action"] = '"count"'
            keywords.setdefault("default", "0")
        elif keyword not in DROPPED:
            raise Declined(call, f"click option argument {keyword}= has no argparse twin")
    negation = False
    if kind == "click.option":
        flags, negation = _split_negation(flags, call)
    if negation:
        keywords = _on_off(call, keywords)
    elif "type" not in keywords and "choices" not in keywords and "action" not in keywords:
        keywords.update(_type_from_default(call, keywords.get("default")))
    if kind == "click.argument":
        if flags or name is None or set(keywords) - {"type", "nargs", "metavar"}:
            raise Declined(call, "a click argument flaskd cannot map")
        if keywords.get("nargs") == "-1":
            keywords["nargs"] = '"*"'
        dest = name
        flags = [name]
    else:
        if "action" in keywords and keywords["action"] == '"store_true"':
            if keywords.get("default", "False") != "False":
                raise Declined(call, "a click flag that defaults to on")
            keywords.pop("default", None)
        long = [f for f in flags if f.startswith("--")]
        derived = (long or flags)[0].lstrip("-").replace("-", "_") if flags else None
        dest = name or derived or ""
        if not dest or not dest.isidentifier() or dest.lower() != dest:
            raise Declined(call, "a click option whose name flaskd cannot derive")
        if name is not None and name != derived:
            keywords["dest"] = repr(name).replace("'", '"')
    parts = [repr(f).replace("'", '"') for f in flags]
    parts += [f"{k}={v}" for k, v in keywords.items()]
    return f"{parser}.add_argument({', '.join(parts)})\n", dest


def _type(imports: Imports, value: cst.BaseExpression, call: cst.Call) -> dict[str, str]:
    name = dotted(value)
    qualified = imports.qualify(value) or name
    if qualified in TYPES:
        return {"type": TYPES[qualified]}
    if (
        isinstance(value, cst.Call)
        and imports.qualify(value.func) == "click.Choice"
        and len(value.args) == 1
        and value.args[0].keyword is None
    ):
        return {"choices": cst.Module([]).code_for_node(value.args[0].value)}
    if (
        isinstance(value, cst.Call)
        and imports.qualify(value.func) == "click.Path"
        and not value.args
    ):
        return {}
    raise Declined(call, "a click type with no exact argparse twin")


def _type_from_default(call: cst.Call, default: str | None) -> dict[str, str]:
    """click infers an option's type from its default: ``default=5000`` reads an int."""
    if default is None:
        return {}
    value = cst.parse_expression(default)
    if isinstance(value, cst.Integer):
        return {"type": "int"}
    if isinstance(value, cst.Float):
        return {"type": "float"}
    if isinstance(value, cst.SimpleString) or dotted(value) == "None":
        return {}
    raise Declined(call, "a click option whose type click infers from a computed default")


def _on_off(call: cst.Call, keywords: dict[str, str]) -> dict[str, str]:
    """``keywords`` for a ``--x/--no-x`` option: it gives False when absent, as click does,
    unless its ``default=`` says otherwise (argparse would give None)."""
    if keywords.get("action", '"store_true"') != '"store_true"':
        raise Declined(call, "a --x/--no-x click option with another action")
    if others := sorted(set(keywords) - {"action", "default", "help", "required"}):
        raise Declined(call, f"a --x/--no-x click option with {'/'.join(others)}")
    default = keywords.get("default", "False")
    if default not in ("True", "False", "None"):
        raise Declined(
            call, f"a --x/--no-x click option whose default {default} is not True, False or None"
        )
    rest = {k: v for k, v in keywords.items() if k not in ("action", "default")}
    return {"action": "argparse.BooleanOptionalAction", "default": default, **rest}


def _split_negation(flags: list[str], call: cst.Call) -> tuple[list[str], bool]:
    """``"--debug/--no-debug"`` gives ``["--debug"]`` and True (argparse derives the --no-)."""
    out: list[str] = []
    negation = False
    for flag in flags:
        if "/" in flag:
            on, _, off = flag.partition("/")
            if not on.startswith("--") or off != "--no-" + on.removeprefix("--"):
                raise Declined(
                    call,
                    f"a click on/off flag {flag!r} other than --x/--no-x: flaskd reads one"
                    " argparse option per setting, so two flags cannot set it",
                )
            out.append(on)
            negation = True
        else:
            out.append(flag)
    return out, negation


def _globals(function: cst.FunctionDef) -> list[str]:
    names: list[str] = []

    class Visit(cst.CSTVisitor):
        def visit_Global(self, node: cst.Global) -> None:
            names.extend(n.name.value for n in node.names)

    function.body.visit(Visit())
    return names


class _OptionsToNamespace(cst.CSTTransformer):
    """``port`` (a click parameter, where it is that variable) becomes ``args.port``."""

    def __init__(self, options: dict[int, str], namespace: str) -> None:
        self.options = options
        self.namespace = namespace

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        name = self.options.get(id(original_node))
        if name is None:
            return updated_node
        return cst.Attribute(cst.Name(self.namespace), cst.Name(name))
