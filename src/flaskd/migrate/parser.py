"""Rule ``parser``: the argparse parser becomes module-level and is handed to the Service.

The parser is the schema of the app's configuration: flaskd reads each
option's dest, type, default and choices from it, parses the command line as
a script and reads env vars and config files under a server. ``parse_args()``
disappears: under gunicorn it would read gunicorn's own command line.
"""

from __future__ import annotations

import libcst as cst

from ._edit import (
    Context,
    MainPathEditor,
    blank,
    ensure_service,
    reflow_service,
    service_call,
    with_todo,
)
from ._imports import Statement
from ._names import dotted, string_value, walk
from ._parser_helper import helper_parser
from ._parsing import CONFIG_ATTRIBUTES, PARSERS, Option, Parser, copied_keys, read_parser
from ._script import Analysis, Declined, Script, assigned_call

ID = "parser"


# -- the facts ----------------------------------------------------------------------------------


def find_parser(analysis: Analysis) -> Parser | None:
    """The script's parser, read from the main path; None when it has none (or is not
    read yet: the click rule converts a click main() first)."""
    script = analysis.script
    if not script.argparse:
        return None
    creations = [c for c in script.calls if script.imports.qualify(c.func) in PARSERS]
    if not creations:
        return None
    if len(creations) > 1:
        raise Declined(creations[1], "two command-line parsers; flaskd takes one")
    call = creations[0]
    kind = PARSERS[script.imports.qualify(call.func) or ""]
    main_body = script.main.body if script.main and script.main.kind != "module" else []
    for container, at_module in ((script.module.body, True), (main_body, False)):
        for stmt in container:
            found = assigned_call(stmt)
            if found and found[1] is call:
                assert isinstance(stmt, cst.SimpleStatementLine)
                parser = Parser(kind, found[0], {found[0]}, stmt, [stmt], [], at_module)  # type: ignore[arg-type]
                rest = list(container[container.index(stmt) + 1 :])
                if at_module:
                    rest += main_body
                read_parser(script, parser, rest)
                return parser
    return helper_parser(script, call, kind)


def find_copies(analysis: Analysis) -> list[cst.BaseStatement]:
    """Lines that only copy options into the config (`copied_keys`: ``app.config["DB"] =
    args.db``, ``app.secret_key = args.secret_key``), module-level or on the main path:
    flaskd now does that itself, the parser rule drops them."""
    script = analysis.script
    parser = analysis.get(find_parser)
    main = script.main
    if main is None or not script.argparse:
        return []
    candidates = list(script.module.body) + (main.body if main.kind != "module" else [])
    return [s for s in candidates if copied_keys(script, parser, s)]


#: ``app.config`` methods that load values from elsewhere (which keys, the code cannot tell).
LOADERS = {
    "from_object",
    "from_pyfile",
    "from_envvar",
    "from_file",
    "from_prefixed_env",
    "from_mapping",
    "update",
    "setdefault",
}
#: App attributes that set a config key (``app.debug`` too, a property that sets DEBUG).
SETS_KEY = {**CONFIG_ATTRIBUTES, "debug": "DEBUG"}
#: The line that keeps a config key the script always took from its option off the app's own
#: values (flaskd ranks those above an option's default).
KEEP_OPTION = '{app}.config.pop("{key}", None)  # as in the script, {flag} gives {key}, not this\n'
OVERRIDE_IN_HOOK = (
    "{keys}: the script overwrote {it} with its option after this line ({options}); this line"
    " now runs in the start-up hook, after flaskd set {it} from the options, so what it sets"
    " wins even over a flag: move it to module level (flaskd then ranks the option's flag, env"
    " var and config file above it) or remove {it} from what it sets"
)


def find_overrides(analysis: Analysis) -> dict[int, tuple[cst.BaseStatement, list[str]]]:
    """Statements that may set a key in ``app.config`` before the script overwrote it with its
    option (a copy the parser rule drops), by id, with those keys. In flaskd the value they set
    outranks the option's default: the rule says so in a TODO above each."""
    script = analysis.script
    copies = analysis.get(find_copies)
    main = script.main
    if not copies or main is None:
        return {}
    parser = analysis.get(find_parser)
    copied = {k: c for c in copies for k in copied_keys(script, parser, c)}
    found: dict[int, tuple[cst.BaseStatement, list[str]]] = {}
    candidates: list[cst.BaseStatement] = [s for s in script.module.body if s is not main.guard]
    candidates += main.body if main.kind != "module" else []
    for stmt in candidates:
        if stmt in copies:
            continue
        keys = _config_keys(script, stmt)
        if keys is None:
            continue
        hit = [
            k
            for k, copy in copied.items()
            if (not keys or k in keys) and _before(script, stmt, copy)
        ]
        if hit:
            found[id(stmt)] = (stmt, sorted(hit))
    return found


def _before(script: Script, stmt: cst.BaseStatement, copy: cst.BaseStatement) -> bool:
    """``stmt`` runs before ``copy``: at import time, or earlier on the main path."""
    main = script.main
    assert main is not None
    body = main.body if main.kind != "module" else script.module.body
    if stmt in body and copy in body:
        return body.index(stmt) < body.index(copy)
    return stmt in script.module.body


def _config_keys(script: Script, stmt: cst.BaseStatement) -> set[str] | None:
    """The config keys a simple statement may set: a set of keys, empty when it cannot tell
    (``app.config.from_object("config")``), None when it sets none."""
    if not isinstance(stmt, cst.SimpleStatementLine):
        return None
    config = f"{script.app}.config"
    keys: set[str] | None = None
    for small in stmt.body:
        call = small.value if isinstance(small, cst.Expr) else None
        if (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and dotted(call.func.value) == config
            and call.func.attr.value in LOADERS
        ):
            named = {a.keyword.value for a in call.args if a.keyword is not None}
            if any(a.keyword is None for a in call.args) or not named:
                return set()
            keys = (keys or set()) | named
        targets = []
        if isinstance(small, cst.Assign):
            targets = [t.target for t in small.targets]
        elif isinstance(small, cst.AnnAssign | cst.AugAssign):
            targets = [small.target]
        for target in targets:
            key = None
            if isinstance(target, cst.Subscript) and dotted(target.value) == config:
                index = target.slice[0].slice if len(target.slice) == 1 else None
                key = string_value(index.value) if isinstance(index, cst.Index) else None
            elif isinstance(target, cst.Attribute) and dotted(target.value) == script.app:
                key = SETS_KEY.get(target.attr.value)
            if key is not None:
                keys = (keys or set()) | {key}
    return keys


# -- the rewrite ----------------------------------------------------------------------------------


def needed(analysis: Analysis) -> bool:
    parser = analysis.get(find_parser)
    return parser is not None and parser.parse is not None


def apply(module: cst.Module, context: Context) -> cst.Module:
    analysis = context.analysis
    parser = analysis.get(find_parser)
    if parser is None or parser.parse is None:
        return module
    if parser.kind != "argparse":
        raise Declined(parser.create, "an optparse parser; the optparse rule converts it first")
    module, _ = ensure_service(module, context)
    top = {id(s) for s in module.body}
    on_main = [s for s in parser.statements if id(context.now(s)) not in top]
    gone: list[cst.CSTNode] = [*on_main, parser.parse, *analysis.get(find_copies)]
    gone += [s for s in (parser.helper, parser.handoff) if s is not None]
    module = _keep_options(module, context, parser)
    namespace = parser.namespace or ""
    targets = [context.now(s) for s in gone] + [
        n
        for n in walk(module)
        if isinstance(n, cst.Global) and any(i.name.value == namespace for i in n.names)
    ]
    module = context.rewrite(module, _RemoveParsing(context, gone, namespace), targets)
    moving = [context.now(s) for s in on_main]
    if parser.local is not None and parser.local != parser.name:
        rename = _Rename(parser.local, parser.name)
        helper = parser.helper.body if parser.helper is not None else None
        moving = [
            _renamed(now, rename) if _within(helper, s) else now
            for s, now in zip(on_main, moving, strict=True)
        ]

    body = list(module.body)
    at = context.index(module, context.service_stmt) if context.service_stmt else 0
    if moving:
        moved: list[Statement] = [blank(moving[0], 1), *moving[1:]]
        body[at:at] = moved
        after = at + len(moved)
        body[after] = context.replaced(body[after], blank(body[after], 0))
    module = module.with_changes(body=body)
    return reflow_service(_pass_parser(module, context, parser.name), context)


def _keep_options(module: cst.Module, context: Context, parser: Parser) -> cst.Module:
    """Keep the script's precedence where it overwrote a key the app set with its option: a
    module-level value is popped right after it is set; a main-path one, which now runs in
    the start-up hook after flaskd set the key, gets a TODO."""
    script = context.analysis.script
    last: dict[str, cst.BaseStatement] = {}
    for stmt, keys in context.analysis.get(find_overrides).values():
        if stmt in script.module.body:
            last.update(dict.fromkeys(keys, stmt))
            continue
        options = [f"{_option(parser, key).flags[0]}" for key in keys]
        it = "it" if len(keys) == 1 else "them"
        text = OVERRIDE_IN_HOOK.format(keys=", ".join(keys), it=it, options=", ".join(options))
        now = context.now(stmt)
        module = context.replace(module, now, with_todo(now, text))
    for key, stmt in sorted(last.items(), key=lambda i: (script.index(i[1]), i[0]), reverse=True):
        flag = _option(parser, key).flags[0]
        line = cst.parse_statement(KEEP_OPTION.format(app=script.app, key=key, flag=flag))
        body = list(module.body)
        at = context.index(module, stmt) + 1
        body.insert(at, line)
        module = module.with_changes(body=body)
    return module


def _option(parser: Parser, key: str) -> Option:
    return next(o for o in parser.options if parser.key(o.dest) == key)


def _pass_parser(module: cst.Module, context: Context, name: str) -> cst.Module:
    """``Service(app, ...)`` becomes ``Service(app, parser, ...)``."""
    call = service_call(context)
    positional = [a for a in call.args if a.keyword is None]
    if len(positional) >= 2 or any(a.keyword and a.keyword.value == "parser" for a in call.args):
        return module
    args = list(call.args)
    args.insert(1, cst.Arg(cst.Name(name), comma=args[0].comma))
    args[0] = args[0].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return context.replace(module, call, call.with_changes(args=args))


def _renamed(stmt: cst.SimpleStatementLine, rename: _Rename) -> cst.SimpleStatementLine:
    new = stmt.visit(rename)
    assert isinstance(new, cst.SimpleStatementLine)
    return new


def _within(block: cst.BaseSuite | None, stmt: cst.BaseStatement) -> bool:
    return isinstance(block, cst.IndentedBlock) and any(s is stmt for s in block.body)


class _Rename(cst.CSTTransformer):
    """The helper's name for its parser becomes the one the main path gave it (the analysis
    made sure it appears only as the assignment's target and as the owner of method calls)."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return (
            updated_node.with_changes(value=self.new)
            if updated_node.value == self.old
            else updated_node
        )

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        return updated_node.with_changes(attr=original_node.attr)

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)


class _RemoveParsing(MainPathEditor):
    """Drop parse_args(), the parser statements on the main path and ``global args``."""

    def __init__(self, context: Context, removed: list[cst.CSTNode], namespace: str) -> None:
        super().__init__(context, removed)
        self.namespace = namespace

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        # A line that is only ``global args`` goes as a whole, like the other removed
        # statements (removing its one child instead would shift the block under
        # remove_from_block, which matches the old and new statements by position).
        if all(
            isinstance(small, cst.Global)
            and all(n.name.value == self.namespace for n in small.names)
            for small in node.body
        ):
            self.removed.add(id(node))
            return False
        return True

    def leave_Global(
        self, original_node: cst.Global, updated_node: cst.Global
    ) -> cst.Global | cst.RemovalSentinel:
        names = [n for n in updated_node.names if n.name.value != self.namespace]
        if not names:
            return cst.RemoveFromParent()
        if len(names) == len(updated_node.names):
            return updated_node
        names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(names=names)
