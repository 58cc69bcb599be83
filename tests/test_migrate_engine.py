"""flaskd migrate's shortcuts: each answers what LibCST answers over the whole module."""

from __future__ import annotations

import pytest

pytest.importorskip("libcst")

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider, ScopeProvider

from flaskd.migrate._imports import swap_import
from flaskd.migrate._names import walk
from flaskd.migrate._script import Analysis, Declined
from flaskd.migrate.engine import _line

SCRIPT = '''\
#!/usr/bin/env python
# a header comment, and a blank line after it

"""Docstring."""
import argparse
from flask import Flask

app = Flask(__name__)
args = None


def helper(args, *rest):
    def inner():
        return [args for args in rest]

    class Local:
        args = 1

        def method(self):
            return args

    return inner, Local


def reads():
    global args
    return args.db, (lambda args: args)(1)


@app.route("/")
def index():
    return {"db": args.db}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="x")

    args = parser.parse_args()
    app.run()
'''


def test_decline_line_is_the_whole_module_position() -> None:
    """A decline names the line LibCST's positions over the whole module give, for any node
    of any statement (the module's header comments are no statement a rule declines)."""
    module = cst.parse_module(SCRIPT)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = [n for stmt in module.body for n in walk(stmt)]
    assert len(nodes) > 300
    for node in nodes:
        assert _line(module, Declined(node, "")) == positions[node].start.line, node


def test_scope_of_a_name_is_the_whole_module_scope() -> None:
    """The scope a Name is resolved in (from the statements mentioning it) binds that name
    where the whole module's scopes do: globals, parameters, comprehensions, classes."""
    module = cst.parse_module(SCRIPT)
    script = Analysis(module).script
    whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    names = script.names["args"]
    assert len(names) == 12
    for name in names:
        mine, theirs = script.scope(name), whole.get(name)
        assert (mine is None) == (theirs is None)
        if mine is not None and theirs is not None:
            assert {id(a.node) for a in mine["args"]} == {id(a.node) for a in theirs["args"]}


@pytest.mark.parametrize(
    "uses",
    [
        "",
        "click.echo('still used')\n",
        "__all__ = ['click']\n",
        "def f(x: 'click.Context'): pass\n",
        "def f():\n    import click\n    return click\n",
        "click = 1\n",
    ],
)
@pytest.mark.parametrize(
    "imports", ["import click\n", "import click as c\n", "from click import echo, option\n"]
)
def test_swap_import_removes_what_the_whole_module_does_not_use(imports: str, uses: str) -> None:
    """Imports of click are removed exactly when LibCST's RemoveImportsVisitor over the whole
    module removes them (used in code, in __all__, in a string annotation, or not at all)."""
    source = f"import os\n{imports}\nx = os.sep\n{uses}\ny = 2\n"
    module = cst.parse_module(source)
    context = CodemodContext()
    for line in module.body[:2]:
        for small in line.body:  # type: ignore[attr-defined]
            for alias in small.names:
                if isinstance(small, cst.Import):
                    name, obj = alias.evaluated_name, None
                else:
                    name, obj = "click", alias.evaluated_name
                RemoveImportsVisitor.remove_unused_import(context, name, obj, alias.evaluated_alias)
    expected = RemoveImportsVisitor(context).transform_module(module).code
    swapped = swap_import(module, "click", "argparse").code
    assert swapped == expected.replace(imports, "import argparse\n" + imports, 1) or (
        swapped.replace("import argparse\n", "", 1) == expected
    )
