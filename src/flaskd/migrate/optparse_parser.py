"""Rule ``optparse``: an optparse parser becomes the equivalent argparse parser.

flaskd reads its configuration schema from an argparse parser. ``OptionParser``
becomes ``ArgumentParser``, ``add_option`` becomes ``add_argument`` (type names
such as ``"int"`` become ``int``, ``%default`` becomes ``%(default)s``), and
``(options, args) = parser.parse_args()`` becomes ``options =
parser.parse_args()`` (only when the positional ``args`` are unused).
"""

from __future__ import annotations

import libcst as cst

from ._edit import Context
from ._imports import swap_import
from ._names import string_value
from ._parsing import Parser
from ._script import Analysis, Declined
from .parser import find_parser

ID = "optparse"
TYPES = {"int": "int", "long": "int", "float": "float", "complex": "complex"}
PARSER_KEYWORDS = {"usage", "description", "prog", "epilog", "add_help_option"}


class OptparseToArgparse(cst.CSTTransformer):
    def __init__(self, context: Context, parser: Parser) -> None:
        self.parser = parser
        self.options = context.ids([o.call for o in parser.options])
        self.creation = context.now(_creation(parser))
        self.parse = context.now(parser.parse.body[0]) if parser.parse is not None else None

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if original_node is self.creation:
            args = []
            for arg in updated_node.args:
                keyword = arg.keyword.value if arg.keyword else None
                if keyword not in PARSER_KEYWORDS:
                    raise Declined(
                        original_node, f"OptionParser({keyword or '...'}) has no argparse twin here"
                    )
                if keyword == "add_help_option":
                    arg = arg.with_changes(keyword=cst.Name("add_help"))
                if isinstance(arg.value, cst.SimpleString) and "%prog" in arg.value.value:
                    text = arg.value.value.replace("%prog", "%(prog)s")
                    arg = arg.with_changes(value=arg.value.with_changes(value=text))
                args.append(arg)
            return updated_node.with_changes(
                func=cst.parse_expression("argparse.ArgumentParser"), args=args
            )
        if id(original_node) in self.options:
            assert isinstance(updated_node.func, cst.Attribute)
            func = updated_node.func.with_changes(attr=cst.Name("add_argument"))
            return updated_node.with_changes(
                func=func, args=[_argument(a) for a in updated_node.args]
            )
        return updated_node

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        if self.parse is None or original_node is not self.parse:
            return updated_node
        target = cst.AssignTarget(cst.Name(self.parser.namespace or "options"))
        return updated_node.with_changes(targets=[target])


def _creation(parser: Parser) -> cst.CSTNode:
    small = parser.create.body[0]
    assert isinstance(small, cst.Assign)
    return small.value


def _argument(arg: cst.Arg) -> cst.Arg:
    keyword = arg.keyword.value if arg.keyword else None
    if keyword == "type":
        name = string_value(arg.value)
        if name in ("string", "str", "choice"):
            return arg.with_changes(value=cst.Name("str"))
        if name is not None:
            if name not in TYPES:
                raise Declined(arg, f"optparse type {name!r} has no argparse twin")
            return arg.with_changes(value=cst.Name(TYPES[name]))
    if keyword == "help" and isinstance(arg.value, cst.SimpleString):
        text = arg.value.value
        if "%default" in text:
            fixed = text.replace("%%", "\0").replace("%default", "%(default)s").replace("\0", "%%")
            return arg.with_changes(value=arg.value.with_changes(value=fixed))
    return arg


def needed(analysis: Analysis) -> bool:
    parser = analysis.get(find_parser)
    return parser is not None and parser.parse is not None and parser.kind == "optparse"


def apply(module: cst.Module, context: Context) -> cst.Module:
    parser = context.analysis.get(find_parser)
    if parser is None or parser.kind != "optparse":
        return module
    module = context.rewrite(module, OptparseToArgparse(context, parser))
    return swap_import(module, "optparse", "argparse")
