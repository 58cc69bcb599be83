"""Converting one file's text: every rule in order, then checks before anything is written."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Literal, cast

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ._edit import Context
from ._names import bound_names, enclosing, read_names
from ._parsing import build_problem
from ._registry import MAIN_PATH, RULES
from ._script import Analysis, Declined
from ._servers import unmapped_server
from .first_request import find_hooks
from .options import find_reads
from .parser import find_parser
from .serve import find_run
from .startup import find_init, init_notes

Status = Literal["converted", "unchanged", "declined", "failed"]
Apply = Callable[[cst.Module, Context], cst.Module]
Needed = Callable[[Analysis], bool]
#: Rules that make the script an argparse one: the rest is read once they ran.
TO_ARGPARSE = ("click", "optparse")


@dataclasses.dataclass
class Result:
    """What migrating one file gave: its status, the new text, and why (``file:line: ...``)."""

    status: Status
    output: str
    reasons: list[str] = dataclasses.field(default_factory=list)
    #: The module defines a flaskd Service once converted (so it can get a wsgi.py).
    has_service: bool = False
    #: The file's encoding, to write it back the same way.
    encoding: str = "utf-8"
    #: What changes when the converted file runs (``note: file:line: ...``): init code now run
    #: per worker; ``warning:`` for init code that drops data.
    notes: list[str] = dataclasses.field(default_factory=list)


def migrate_source(
    source: str,
    *,
    filename: str = "<stdin>",
    env_prefix: str | None = None,
    rules: Collection[str] = tuple(RULES),
) -> Result:
    """Convert a script's text with the given rules.

    Never raises for a bad input: a file that is not Python is ``failed``, one
    with something that cannot be converted safely is ``declined`` (its text
    unchanged), each with reasons that name ``file:line``.
    """
    if "flask" not in source:
        return Result("unchanged", source)
    try:
        compile(source, filename, "exec", dont_inherit=True)
        module = cst.parse_module(source)
    except (SyntaxError, ValueError, cst.ParserSyntaxError) as e:
        line = getattr(e, "lineno", None) or getattr(e, "raw_line", None)
        where = f"{filename}:{line}" if line else filename
        return Result("failed", source, [f"{where}: not valid Python: {_first_line(e)}"])
    try:
        analysis = analyze(module)
        _check_rules(analysis, rules)
        converted, final = _convert(module, analysis, env_prefix, rules)
        output = converted.code
    except Declined as e:
        line = _line(module, e)
        where = f"{filename}:{line}" if line else filename
        return Result("declined", source, [f"{where}: {e.reason}"])
    except Exception as e:  # a bug: never a half-converted file
        return Result("failed", source, [f"{filename}: flaskd migrate failed ({_bug(e)})"])
    if output == source:
        has_service = analysis.script.service is not None
        mapped = has_service or analysis.get(find_run) is not None
        unmapped = None if mapped else unmapped_server(analysis)
        if unmapped is not None:
            line = _line(module, unmapped)
            where = f"{filename}:{line}" if line else filename
            return Result("declined", source, [f"{where}: {unmapped.reason}"])
        return Result("unchanged", source, has_service=has_service)
    problem = _verify(output, filename, env_prefix, rules)
    if problem:
        return Result("failed", source, [f"{filename}: flaskd migrate failed ({problem})"])
    result = Result("converted", output, _todos(output, filename), has_service=True)
    if "startup" in rules:
        folder = Path(filename).parent if filename != "<stdin>" else None
        for node, kind, text in init_notes(final, folder, analysis):
            line = _line(module, Declined(node, text))
            result.notes.append(f"{kind}: {filename}:{line}: {text}")
    return result


def analyze(module: cst.Module) -> Analysis:
    """The file's one analysis, every fact read now: in the order their declines are
    reported, and before any rule rewrites the module."""
    analysis = Analysis(module)
    for detect in (find_hooks, find_parser, find_run, find_init, find_reads):
        analysis.get(detect)
    _check_order(analysis)
    return analysis


def _convert(
    module: cst.Module, analysis: Analysis, env_prefix: str | None, rules: Collection[str]
) -> tuple[cst.Module, Analysis]:
    """Each rule in turn, all reading the one analysis (and again only once a script was made
    an argparse one); the output, and the last analysis. A rule with nothing to do returns
    the module it was given."""
    context = Context(env_prefix, analysis, _anchor(analysis))
    for rule in RULES.values():
        if rule.id in rules:
            apply = cast(Apply, _rule(rule.module, "apply"))
            new = apply(module, context)
            if rule.id in TO_ARGPARSE and new is not module:
                analysis = analyze(new)
                context = Context(env_prefix, analysis, _anchor(analysis))
            module = new
    return module, analysis


def _rule(module: str, name: str) -> object:
    """A rule module's function, looked up when called (a test may stand in for one)."""
    return getattr(importlib.import_module(f"{__package__}.{module}"), name)


def _check_rules(analysis: Analysis, rules: Collection[str]) -> None:
    """The main-path rules go together: converting only some of them would break the script."""
    click = analysis.script.click
    if click is not None and "click" not in rules and set(rules) & set(MAIN_PATH):
        name = click.name.value
        raise Declined(click, f"{name}() takes its options from click; rule click converts them")
    needed = {
        r.id
        for r in RULES.values()
        if r.id in MAIN_PATH and cast(Needed, _rule(r.module, "needed"))(analysis)
    }
    chosen = needed & set(rules)
    missing = sorted(needed - chosen)
    if chosen & set(MAIN_PATH) and missing:
        main = analysis.script.main
        node = (main.guard or main.function) if main is not None else None
        raise Declined(node, f"converting the main path also needs rule(s) {', '.join(missing)}")


def _anchor(analysis: Analysis) -> cst.BaseStatement | None:
    """The module-level statement the service is declared after: the app, and whatever the
    parser (moved up to it) and the serving defaults read."""
    script = analysis.script
    if script.app_stmt is None:
        return None
    body = script.module.body
    indices = [script.index(script.app_stmt)]
    parser = analysis.get(find_parser)
    if parser is not None:
        indices += [script.index(s) for s in parser.statements if s in body]
        indices += _bindings_before(analysis, [s for s in parser.statements if s not in body])
    run = analysis.get(find_run)
    if run is not None:
        for expr in run.serve.values():
            indices += _bindings_before(analysis, [expr])
    return body[max(indices)]


def _bindings_before(analysis: Analysis, nodes: Sequence[cst.CSTNode]) -> list[int]:
    """Indices of module-level statements binding the names ``nodes`` read."""
    script = analysis.script
    guard = script.main.guard if script.main else None
    wanted = {n.value for node in nodes for n in read_names(node)}
    return [
        i
        for i, stmt in enumerate(script.module.body)
        if stmt is not guard and bound_names([stmt]) & wanted
    ]


def _check_order(analysis: Analysis) -> None:
    """The service must come after what its parser needs, and before the hooks it decorates."""
    script = analysis.script
    parser = analysis.get(find_parser)
    body = script.module.body
    if script.service_stmt is not None and parser is not None and parser.parse is not None:
        moving = [s for s in parser.statements if s not in body]
        if any(i > script.index(script.service_stmt) for i in _bindings_before(analysis, moving)):
            raise Declined(parser.create, "the parser needs names defined after the service")
    hooks = analysis.get(find_hooks).hooks
    if not hooks:
        return
    anchor = script.service_stmt or _anchor(analysis)
    at = script.index(anchor) if anchor is not None else 0
    for func in hooks:
        if script.index(func) < at:
            raise Declined(func, f"{func.name.value}() comes before the parser the service needs")


def _verify(
    output: str, filename: str, env_prefix: str | None, rules: Collection[str]
) -> str | None:
    """Why the output must not be written: it does not compile, or a second run changes it."""
    try:
        compile(output, filename, "exec", dont_inherit=True)
        module = cst.parse_module(output)
        analysis = analyze(module)
        parser = analysis.get(find_parser)
        problem = build_problem(parser) if parser is not None else None
        if problem:
            return f"its parser cannot be built: {problem}"
        again, _ = _convert(module, analysis, env_prefix, rules)
    except Declined as e:
        return f"its output is declined on a second run: {e.reason}"
    except Exception as e:
        return f"its output does not compile: {_bug(e)}"
    # No rule rewrote the parsed output (the usual case): its code is the output, unwritten.
    if again is not module and again.code != output:
        return "a second run would change its output"
    return None


def _line(module: cst.Module, error: Declined) -> int | None:
    """The line of the node at fault, if it is in the original module (rules that ran
    before the decline may have built it).

    Positions are resolved only in the module-level statement holding the node, offset by
    the lines before it: resolving them in the whole module costs more than converting it.
    """
    if error.node is None:
        return None
    holding = enclosing(module, [error.node]) | {id(error.node)}
    for i, stmt in enumerate(module.body):
        if id(stmt) in holding:
            alone = module.with_changes(header=[], body=[stmt])
            positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            where = positions.get(error.node)
            if where is None:
                return None
            code = module.code_for_node
            before = "".join(code(s) for s in module.body[:i])
            lines = "".join(code(line) for line in module.header) + before
            return lines.count("\n") + where.start.line
    return None


def _todos(output: str, filename: str) -> list[str]:
    return [
        f"{filename}:{i}: {line.strip()}"
        for i, line in enumerate(output.splitlines(), 1)
        if "# TODO(flaskd):" in line
    ]


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _bug(error: BaseException) -> str:
    return f"{type(error).__name__}: {_first_line(error)}; please report it"
