"""Rule ``optparse``: an optparse parser becomes the equivalent argparse parser.

flaskd reads its configuration schema from an argparse parser. ``OptionParser``
becomes ``ArgumentParser``, ``add_option`` becomes ``add_argument`` (type names
such as ``"int"`` become ``int``, ``%default`` becomes ``%(default)s``), and
``(options, args) = parser.parse_args()`` becomes ``options =
parser.parse_args()`` (only when the positional ``args`` are unused).
"""

from __future__ import annotations

import libcst as cst

from ._analysis import Declined, Parser, analyze
from ._edit import Context
from ._names import Imports, dotted, string_value, used_names

ID = "optparse"
TYPES = {"int": "int", "long": "int", "float": "float", "complex": "complex"}
PARSER_KEYWORDS = {"usage", "description", "prog", "epilog", "add_help_option"}


class OptparseToArgparse(cst.CSTTransformer):
    def __init__(self, parser: Parser) -> None:
        self.parser = parser
        self.options = {id(o.call) for o in parser.options}

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if original_node is _creation(self.parser):
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
        parse = self.parser.parse
        if parse is None or original_node is not parse.body[0]:
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


def apply(module: cst.Module, context: Context) -> cst.Module:
    facts = analyze(module)
    parser = facts.parser
    if parser is None or parser.kind != "optparse":
        return module
    module = module.visit(OptparseToArgparse(parser))
    return _fix_imports(module)


def _fix_imports(module: cst.Module) -> cst.Module:
    """Import argparse; drop the optparse imports nothing uses any more."""
    imports = Imports(module)
    used = used_names(module)
    body: list[cst.BaseStatement] = []
    added = "argparse" in imports.names
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            small = stmt.body[0]
            optparse_names = _optparse_names(small)
            if optparse_names and not optparse_names & used:
                if not added:
                    body.append(
                        stmt.with_changes(
                            body=[cst.Import([cst.ImportAlias(cst.Name("argparse"))])]
                        )
                    )
                    added = True
                continue
            if optparse_names and not added:
                body.append(stmt)
                body.append(cst.parse_statement("import argparse\n"))
                added = True
                continue
        body.append(stmt)
    if not added:
        body.insert(0, cst.parse_statement("import argparse\n"))
    return module.with_changes(body=body)


def _optparse_names(small: cst.BaseSmallStatement) -> set[str]:
    if isinstance(small, cst.Import) and any(dotted(a.name) == "optparse" for a in small.names):
        return {"optparse"} if len(small.names) == 1 else set()
    if (
        isinstance(small, cst.ImportFrom)
        and small.module is not None
        and dotted(small.module) == "optparse"
    ):
        if isinstance(small.names, cst.ImportStar):
            return set()
        return {
            (
                a.asname.name.value
                if a.asname and isinstance(a.asname.name, cst.Name)
                else dotted(a.name) or ""
            )
            for a in small.names
        }
    return set()
