"""Parser facts: the script's argparse (or optparse) parser, where it is built and parsed,
its options and the config key each gives.

Read by the rules that rewrite it (``parser``, ``optparse``) and by those whose code reads
the options (``serve``, ``startup``, ``options``).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
from typing import Any, Literal

import libcst as cst

from ._names import dotted, local_names, read_names, string_value, walk
from ._script import (
    Declined,
    Script,
    assigned_call,
    calls,
    contains,
    visible_names,
)

PARSERS = {"argparse.ArgumentParser": "argparse", "optparse.OptionParser": "optparse"}
#: Parser methods whose statements move with the parser (they only declare options).
DECLARING = {
    "add_argument",
    "add_option",
    "add_argument_group",
    "add_mutually_exclusive_group",
    "set_defaults",
    "set_usage",
}
#: Parser methods init code may still call once the parser is module-level.
USABLE = {"error", "print_help", "print_usage", "exit", "format_help", "format_usage"}
#: The flags flaskd serves on: an option with one of them gives that serving setting.
ADDRESS = {"--host": "host", "--port": "port"}


@dataclasses.dataclass
class Option:
    """One ``add_argument``/``add_option`` call."""

    stmt: cst.SimpleStatementLine
    call: cst.Call
    flags: list[str]
    dest: str
    #: The serving setting this option gives (``--host``/``--port``), if any.
    address: str | None


@dataclasses.dataclass
class Parser:
    """The script's argparse or optparse parser."""

    kind: Literal["argparse", "optparse"]
    name: str
    #: Names that refer to the parser or one of its argument groups.
    aliases: set[str]
    create: cst.SimpleStatementLine
    #: Every statement that builds it: creation, add_argument, groups, set_defaults.
    statements: list[cst.SimpleStatementLine]
    options: list[Option]
    #: True when the parser is built at module level, False when on the main path.
    at_module_level: bool
    parse: cst.SimpleStatementLine | None = None
    #: The name ``parse_args()`` is assigned to (``args``).
    namespace: str | None = None
    #: optparse's list of positional arguments, when ``(opts, args) = parse_args()``.
    positional: str | None = None
    #: The module-level function that builds it (``def parse(): ...``), removed once it moved.
    helper: cst.FunctionDef | None = None
    #: The parser's name inside the helper, when the main path calls it something else.
    local: str | None = None
    #: ``parser = build_parser()`` on the main path, removed once the parser moved.
    handoff: cst.SimpleStatementLine | None = None
    #: ``opts = vars(parser.parse_args())``: the options are a dict, read as ``opts["db"]``.
    as_dict: bool = False

    def dest_read(self, node: cst.CSTNode) -> str | None:
        """The dest ``node`` reads from the parsed options: ``args.db`` (``opts["db"]`` when
        they are a dict), whether or not an option has it; None for anything else."""
        if self.namespace is None:
            return None
        if isinstance(node, cst.Attribute) and not self.as_dict:
            return node.attr.value if dotted(node.value) == self.namespace else None
        if isinstance(node, cst.Subscript) and self.as_dict and len(node.slice) == 1:
            index = node.slice[0].slice
            if dotted(node.value) == self.namespace and isinstance(index, cst.Index):
                return string_value(index.value)
        return None

    def key(self, dest: str) -> str | None:
        """The config key the option with this ``dest`` is read from."""
        for option in self.options:
            if option.dest == dest:
                return (option.address or dest).upper()
        return None


def method_call(
    stmt: cst.BaseStatement, owners: set[str]
) -> tuple[str | None, str, cst.Call] | None:
    """``(assigned name, method, call)`` for ``[x =] owner.method(...)`` with owner in owners."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    target: str | None = None
    if isinstance(small, cst.Expr):
        value = small.value
    elif isinstance(small, cst.Assign) and len(small.targets) == 1:
        value = small.value
        t = small.targets[0].target
        target = t.value if isinstance(t, cst.Name) else None
    else:
        return None
    if (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and dotted(value.func.value) in owners
    ):
        return target, value.func.attr.value, value
    return None


def read_parser(script: Script, parser: Parser, statements: list[cst.BaseStatement]) -> None:
    for stmt in statements:
        found = method_call(stmt, parser.aliases)
        as_dict = found is None and (found := _vars_of_parse(stmt, parser.aliases)) is not None
        if found is None:
            continue
        target, method, call = found
        assert isinstance(stmt, cst.SimpleStatementLine)
        if method in DECLARING and (
            target is None or (method.startswith("add_") and "group" in method)
        ):
            if target is not None:
                parser.aliases.add(target)
            parser.statements.append(stmt)
            if method in ("add_argument", "add_option"):
                parser.options.append(option(stmt, call, parser.kind))
        elif method == "parse_args" and target is not None:
            if parser.parse is not None:
                raise Declined(stmt, "parse_args() is called twice")
            check_parse_call(call)
            parser.parse, parser.namespace = stmt, target
            parser.as_dict = as_dict
        elif method == "parse_args":
            _optparse_parse(stmt, call, parser)
    _check_parser_uses(script, parser)
    if parser.positional is not None and visible_names(script, parser.positional, parser.parse):
        raise Declined(
            parser.parse, f"optparse's positional arguments {parser.positional!r} are used"
        )


def _vars_of_parse(
    stmt: cst.BaseStatement, owners: set[str]
) -> tuple[str | None, str, cst.Call] | None:
    """Like `method_call`, for ``opts = vars(parser.parse_args())``."""
    small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) else None
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return None
    value = small.value
    if not (isinstance(value, cst.Call) and dotted(value.func) == "vars" and len(value.args) == 1):
        return None
    call = value.args[0].value
    target = small.targets[0].target
    if (
        isinstance(target, cst.Name)
        and isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value == "parse_args"
        and dotted(call.func.value) in owners
    ):
        return target.value, "parse_args", call
    return None


def _optparse_parse(stmt: cst.SimpleStatementLine, call: cst.Call, parser: Parser) -> None:
    small = stmt.body[0]
    if parser.kind != "optparse" or not isinstance(small, cst.Assign):
        raise Declined(stmt, "parse_args() result is not assigned to one name")
    target = small.targets[0].target
    if isinstance(target, cst.Tuple) and len(target.elements) == 2:
        first, second = (e.value for e in target.elements)
        if isinstance(first, cst.Name) and isinstance(second, cst.Name):
            check_parse_call(call)
            parser.parse, parser.namespace, parser.positional = stmt, first.value, second.value
            return
    raise Declined(stmt, "parse_args() result is not assigned to `(options, args)`")


def check_parse_call(call: cst.Call) -> None:
    if not call.args:
        return
    if len(call.args) == 1 and dotted(call.args[0].value) == "None":
        return
    value = call.args[0].value
    if (
        len(call.args) == 1
        and isinstance(value, cst.Subscript)
        and dotted(value.value) == "sys.argv"
    ):
        return
    raise Declined(call, "parse_args() is given an argument list; flaskd parses sys.argv itself")


def option_names(call: cst.Call, what: str) -> tuple[list[str], list[cst.Arg]]:
    """The names an option is declared with (the string literals given positionally) and its
    keyword arguments; declined for ``*args`` or a name that is not a string literal."""
    names: list[str] = []
    keywords: list[cst.Arg] = []
    for arg in call.args:
        if arg.star:
            raise Declined(call, f"{what} declared with *args or **kwargs")
        if arg.keyword is not None:
            keywords.append(arg)
            continue
        name = string_value(arg.value)
        if name is None:
            raise Declined(call, f"{what} whose name is not a string literal")
        names.append(name)
    return names, keywords


def option(stmt: cst.SimpleStatementLine, call: cst.Call, kind: str) -> Option:
    flags, keywords = option_names(call, "an option")
    dest: str | None = None
    for arg in keywords:
        assert arg.keyword is not None
        if arg.keyword.value == "dest":
            dest = string_value(arg.value)
            if dest is None:
                raise Declined(call, "an option whose dest is not a string literal")
        elif kind == "optparse" and (
            arg.keyword.value == "callback" or string_value(arg.value) == "callback"
        ):
            raise Declined(call, "an optparse callback option")
    if not flags:
        raise Declined(call, "an option without a name")
    if dest is None:
        if not flags[0].startswith("-"):
            dest = flags[0]
        else:
            long = [f for f in flags if f.startswith("--")]
            dest = (long or flags)[0].lstrip("-").replace("-", "_")
    address = next((ADDRESS[f] for f in flags if f in ADDRESS), None)
    return Option(stmt, call, flags, dest, address)


def _check_parser_uses(script: Script, parser: Parser) -> None:
    """Every use of the parser is one we know: building, parsing, or a method init code may call."""
    known = {id(s) for s in parser.statements} | {id(script.service_stmt)}
    if parser.parse is not None:
        known.add(id(parser.parse))
    if parser.handoff is not None:
        known.add(id(parser.handoff))
    if parser.helper is not None and isinstance(parser.helper.body, cst.IndentedBlock):
        known |= {id(s) for s in parser.helper.body.body}
    # Only the lines where a parser name appears (read_names is slow on a whole module).
    mentioning = {
        id(a)
        for n in parser.aliases
        for name in script.names.get(n, [])
        for a in script.ancestors(name)
    }
    for stmt in walk(script.module, leaves=cst.SimpleStatementLine):
        if not isinstance(stmt, cst.SimpleStatementLine) or id(stmt) in known:
            continue
        if id(stmt) not in mentioning:
            continue
        for name in read_names(stmt):
            if name.value in parser.aliases:
                for call in calls(stmt):
                    if (
                        isinstance(call.func, cst.Attribute)
                        and call.func.value is name
                        and call.func.attr.value in USABLE
                    ):
                        break
                else:
                    if name.value in _shadowing_scopes(script, stmt):
                        continue
                    raise Declined(
                        stmt,
                        f"the parser {name.value!r} is {_use(script, stmt, name)},"
                        " which flaskd cannot follow",
                    )


def _use(script: Script, stmt: cst.CSTNode, name: cst.Name) -> str:
    """How ``stmt`` uses the parser ``name``, in words a reason can show."""
    for call in calls(stmt):
        if any(arg.value is name for arg in call.args):
            return f"passed to {script.module.code_for_node(call.func)}()"
    code = " ".join(script.module.code_for_node(stmt).split())
    return f"used in `{code if len(code) <= 60 else code[:57] + '...'}`"


def _shadowing_scopes(script: Script, stmt: cst.CSTNode) -> set[str]:
    """Names bound locally by the module-level function holding ``stmt``, if any."""
    for top in script.module.body:
        if isinstance(top, cst.FunctionDef) and contains(top, stmt):
            if script.main and top is script.main.function:
                return set()
            return local_names(top)
    return set()


def decline_other_parsing(script: Script) -> None:
    """Options read with click, getopt or sys.argv on the main path: no clear mapping."""
    if script.main is None:
        return
    if script.main.kind == "module":
        scope: list[cst.BaseStatement] = [
            s for s in script.module.body if not isinstance(s, cst.FunctionDef | cst.ClassDef)
        ]
    else:
        scope = script.main.body
    for stmt in scope:
        for call in calls(stmt):
            qualified = script.imports.qualify(call.func) or ""
            if qualified.startswith("getopt."):
                raise Declined(call, "options parsed with getopt; convert them to argparse first")
            if qualified.startswith("click."):
                raise Declined(call, "options parsed with click; convert them to argparse first")
        if any(script.imports.qualify(node) == "sys.argv" for node in walk(stmt)):
            raise Declined(stmt, "options read from sys.argv; declare them with argparse first")


#: App attributes that are Flask's ``ConfigAttribute``: setting one sets this config key.
CONFIG_ATTRIBUTES = {
    "secret_key": "SECRET_KEY",
    "testing": "TESTING",
    "permanent_session_lifetime": "PERMANENT_SESSION_LIFETIME",
}


def copied_keys(script: Script, parser: Parser | None, stmt: cst.BaseStatement) -> list[str]:
    """The config keys a line only copies from their own option, which flaskd now does itself:
    ``app.config["DB"] = args.db``, ``app.secret_key = args.secret_key``,
    ``app.config.update(DB=args.db)``, or the same once rewritten (``app.config["DB"]`` for
    ``args.db``). Empty when the line does anything else."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return []
    small = stmt.body[0]
    config = f"{script.app}.config"
    pairs: list[tuple[str | None, cst.BaseExpression]] = []
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        if isinstance(target, cst.Subscript) and dotted(target.value) == config:
            index = target.slice[0].slice if len(target.slice) == 1 else None
            pairs.append(
                (string_value(index.value) if isinstance(index, cst.Index) else None, small.value)
            )
        elif isinstance(target, cst.Attribute) and dotted(target.value) == script.app:
            pairs.append((CONFIG_ATTRIBUTES.get(target.attr.value), small.value))
    elif (
        isinstance(small, cst.Expr)
        and isinstance(small.value, cst.Call)
        and dotted(small.value.func) == f"{config}.update"
        and small.value.args
        and all(a.keyword is not None and not a.star for a in small.value.args)
    ):
        pairs += [(a.keyword.value if a.keyword else None, a.value) for a in small.value.args]
    keys = [
        key for key, value in pairs if key is not None and _reads_key(script, parser, key, value)
    ]
    return keys if pairs and len(keys) == len(pairs) else []


def _reads_key(script: Script, parser: Parser | None, key: str, value: cst.BaseExpression) -> bool:
    """``value`` is the option whose config key is ``key``: ``args.db`` or ``app.config["DB"]``."""
    if isinstance(value, cst.Subscript) and dotted(value.value) == f"{script.app}.config":
        index = value.slice[0].slice if len(value.slice) == 1 else None
        return isinstance(index, cst.Index) and string_value(index.value) == key
    dest = parser.dest_read(value) if parser is not None else None
    return parser is not None and dest is not None and parser.key(dest) == key


def build_problem(parser: Parser) -> str | None:
    """Why argparse would refuse to build this parser, or None.

    Replays its declarations on a real `argparse.ArgumentParser`, with the arguments that are
    literals (a name not written as one, such as ``type=int``, is left out: it does not change
    whether the declaration is valid). Catches what compiling cannot: an invalid or conflicting
    option string raises only when the script runs.
    """
    if parser.kind != "argparse":
        return None
    owners: dict[str, Any] = {}
    for stmt in parser.statements:
        small = stmt.body[0]
        created = assigned_call(stmt) if stmt is parser.create else None
        call = created[1] if created else getattr(small, "value", None)
        target = created[0] if created else None
        if isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name):
            target = small.targets[0].target.value
        if not isinstance(call, cst.Call):
            continue
        try:
            if stmt is parser.create:
                made: Any = argparse.ArgumentParser(**_literals(call, PARSER_CHECKED))
            else:
                assert isinstance(call.func, cst.Attribute)
                owner = owners[dotted(call.func.value) or ""]
                method = call.func.attr.value
                if method == "add_argument":
                    names = [string_value(a.value) for a in call.args if a.keyword is None]
                    made = owner.add_argument(*names, **_option_literals(call))
                elif method in ("add_argument_group", "add_mutually_exclusive_group"):
                    keywords = _literals(call, {"required"}) if "exclusive" in method else {}
                    made = getattr(owner, method)(**keywords)
                else:
                    continue
        except (argparse.ArgumentError, ValueError, TypeError) as e:
            code = cst.Module([]).code_for_node(call)
            return f"argparse refuses {code}: {type(e).__name__}: {e}"
        if target is not None:
            owners[target] = made
    return None


#: ``ArgumentParser(...)`` keywords that decide whether its options are valid.
PARSER_CHECKED = {"prefix_chars", "add_help", "conflict_handler", "allow_abbrev"}


def _literals(call: cst.Call, keep: set[str] | None = None) -> dict[str, Any]:
    """The keyword arguments of ``call`` that are Python literals."""
    found: dict[str, Any] = {}
    code = cst.Module([]).code_for_node
    for arg in call.args:
        if arg.keyword is None or (keep is not None and arg.keyword.value not in keep):
            continue
        try:
            found[arg.keyword.value] = ast.literal_eval(code(arg.value))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            if arg.keyword.value == "action" and dotted(arg.value) is not None:
                name = (dotted(arg.value) or "").removeprefix("argparse.")
                action = getattr(argparse, name, None)
                if isinstance(action, type) and issubclass(action, argparse.Action):
                    found["action"] = action
    return found


def _option_literals(call: cst.Call) -> dict[str, Any]:
    """An ``add_argument`` call's literal keywords; with an action flaskd does not know (one
    of the script's own classes), only ``dest``: its other keywords may be valid for it."""
    found = _literals(call)
    custom = any(a.keyword is not None and a.keyword.value == "action" for a in call.args)
    if custom and "action" not in found:
        return {k: v for k, v in found.items() if k == "dest"}
    return found
