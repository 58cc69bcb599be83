"""Finding scripts to migrate, converting them (in parallel on big trees), writing atomically."""

from __future__ import annotations

import dataclasses
import difflib
import io
import os
import tempfile
import tokenize
from collections.abc import Iterator, Sequence
from pathlib import Path

from .._service import prefix_for, prefix_problem
from .engine import Result, migrate_source

SKIPPED_DIRS = {".venv", "venv", "site-packages", "__pycache__", "node_modules"}
ENTRYPOINT = "wsgi.py"


def python_files(paths: Sequence[Path]) -> Iterator[Path]:
    """The ``.py`` files under ``paths``, skipping virtualenvs, caches and dot-directories."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
            yield from (Path(root, f) for f in sorted(files) if f.endswith(".py"))


@dataclasses.dataclass(frozen=True)
class Job:
    path: Path
    env_prefix: str | None
    rules: tuple[str, ...]


def read_source(data: bytes) -> tuple[str, str]:
    """A script's text, newlines untouched, and its encoding (PEP 263, UTF-8 by default)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding), encoding


def migrate_file(job: Job) -> tuple[Path, str, Result]:
    """Convert one file (nothing written): its path, its original text and the result."""
    try:
        source, encoding = read_source(job.path.read_bytes())
    except (OSError, UnicodeDecodeError, SyntaxError) as e:
        return job.path, "", Result("failed", "", [f"{job.path}: cannot read: {e}"])
    prefix = job.env_prefix or prefix_for(job.path)
    result = migrate_source(source, filename=str(job.path), env_prefix=prefix, rules=job.rules)
    problem = prefix_problem(prefix)
    if result.status == "converted" and problem:  # the Service would refuse it at import
        reason = f"{job.path}: {problem}: rename the file or pass --env-prefix"
        result = Result("declined", source, [reason])
    result.encoding = encoding
    return job.path, source, result


def diff(path: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), path, path
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def write_atomic(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Replace ``path``'s content in one step (temporary file in the same directory, then
    rename), keeping its mode; a crash leaves either the old file or the new one."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def entrypoint(script: Path) -> tuple[Path, str] | str:
    """The ``wsgi.py`` to write next to ``script`` and its text, or why not."""
    module = script.stem
    if not module.isidentifier():
        return f"{script}: {module!r} is not an importable module name; no {ENTRYPOINT} written"
    text = (
        '"""WSGI entry point: gunicorn wsgi:application, waitress-serve --call wsgi:create_app."""'
        "\n"
        f"\nfrom {module} import service as application\n"
        f"\ncreate_app = application.create_app\n"
    )
    target = script.parent / ENTRYPOINT
    if target.exists() and target.read_text(encoding="utf-8") != text:
        return f"{target}: exists and differs; not overwritten (it should import {module}.service)"
    return target, text
