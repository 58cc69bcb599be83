"""The ``flaskd migrate`` command. LibCST is imported only when it runs."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .._errors import ConfigError
from .._service import prefix_problem
from ._registry import RULES

if TYPE_CHECKING:
    from .engine import Result
    from .files import Job

#: Files at which conversion goes to worker processes and a progress bar shows.
PARALLEL_FROM = 40


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True, path_type=Path))
@click.option(
    "--diff", "mode", flag_value="diff", default=True, help="Print a unified diff (the default)."
)
@click.option("--check", "mode", flag_value="check", help="Exit 1 if any file would change.")
@click.option("--write", "mode", flag_value="write", help="Rewrite the files in place.")
@click.option(
    "--env-prefix",
    metavar="PREFIX",
    help="Env var prefix to declare. [default: from the file name]",
)
@click.option(
    "--only", multiple=True, type=click.Choice(list(RULES)), help="Run only this rule; repeatable."
)
@click.option(
    "--skip",
    multiple=True,
    type=click.Choice(list(RULES)),
    help="Do not run this rule; repeatable.",
)
@click.option(
    "--entrypoint", is_flag=True, help="Also write a wsgi.py next to each migrated script."
)
def migrate(
    paths: tuple[Path, ...],
    mode: str,
    env_prefix: str | None,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    entrypoint: bool,
) -> None:
    """Rewrite standalone Flask scripts (argparse, init code, app.run) into flaskd apps.

    PATH is a file, a directory (walked for .py files) or - (stdin to stdout).
    Prints a diff by default and writes nothing; --write applies it.
    """
    try:
        import libcst  # noqa: F401
    except ImportError:
        raise ConfigError("libcst is not installed: pip install 'flaskd[migrate]'") from None
    from . import files

    if env_prefix is not None:
        if not env_prefix.replace("_", "").isalnum():
            raise ConfigError(f"--env-prefix {env_prefix!r}: use letters, digits and underscores")
        problem = prefix_problem(env_prefix)
        if problem:
            raise ConfigError(f"--env-prefix: {problem}; choose another")
    rules = tuple(r for r in RULES if (not only or r in only) and r not in skip)
    if Path("-") in paths:
        if len(paths) > 1:
            raise ConfigError("- (stdin) cannot be mixed with other paths")
        _stdin(env_prefix, rules, mode)
        return
    for path in paths:
        if not path.exists():
            raise ConfigError(f"{path}: no such file or directory")
    jobs = [files.Job(p, env_prefix, rules) for p in files.python_files(paths)]
    counts = {"converted": 0, "unchanged": 0, "declined": 0, "failed": 0}
    reasons: list[str] = []
    changed = False
    for path, source, result in _run(jobs):
        counts[result.status] += 1
        reasons += [f"{result.status}: {r}" for r in result.reasons]
        reasons += result.notes
        if result.status == "converted":
            changed = True
            if mode == "diff":
                click.echo(files.diff(str(path), source, result.output), nl=False)
            elif mode == "write":
                files.write_atomic(path, result.output, result.encoding)
        if entrypoint and result.has_service and result.status in ("converted", "unchanged"):
            changed |= _entrypoint(path, mode, reasons)
    for line in reasons:
        click.echo(line, err=True)
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    unwritten = " (nothing written: --write applies them)" if changed and mode != "write" else ""
    click.echo(f"flaskd migrate: {summary}{unwritten}", err=True)
    if counts["failed"]:
        sys.exit(2)
    if mode == "check" and changed:
        sys.exit(1)


def _stdin(env_prefix: str | None, rules: tuple[str, ...], mode: str) -> None:
    from .engine import migrate_source
    from .files import read_source

    source, encoding = read_source(sys.stdin.buffer.read())
    result = migrate_source(source, env_prefix=env_prefix, rules=rules)
    for line in result.reasons:
        click.echo(f"{result.status}: {line}", err=True)
    for line in result.notes:
        click.echo(line, err=True)
    if mode != "check":
        sys.stdout.buffer.write(result.output.encode(encoding))
    if result.status == "failed":
        sys.exit(2)
    if mode == "check" and result.output != source:
        sys.exit(1)


def _run(jobs: list[Job]) -> Iterable[tuple[Path, str, Result]]:
    """Convert every file, in worker processes for big trees, in the order given."""
    from .files import migrate_file

    if len(jobs) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        yield from _progress(map(migrate_file, jobs), len(jobs))
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor() as pool:
        yield from _progress(pool.map(migrate_file, jobs, chunksize=8), len(jobs))


def _progress(
    results: Iterable[tuple[Path, str, Result]], total: int
) -> Iterable[tuple[Path, str, Result]]:
    if total < PARALLEL_FROM or not sys.stderr.isatty():
        yield from results
        return
    with click.progressbar(results, length=total, label="Migrating", file=sys.stderr) as bar:
        yield from bar


def _entrypoint(script: Path, mode: str, reasons: list[str]) -> bool:
    """Write (or show) the wsgi.py for ``script``; True if it is new."""
    from .files import diff, entrypoint, write_atomic

    found = entrypoint(script)
    if isinstance(found, str):
        reasons.append(f"declined: {found}")
        return False
    target, text = found
    if target.exists():
        return False
    if mode == "diff":
        click.echo(diff(str(target), "", text), nl=False)
    elif mode == "write":
        write_atomic(target, text)
    return True
