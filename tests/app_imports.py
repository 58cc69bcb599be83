"""Commands run in a long-lived interpreter import each call's app anew.

flaskd imports the app it is given (``notes.py`` becomes module ``notes``); a second call
in the same interpreter would get the first call's module from `sys.modules`, from another
directory. Both the ``invoke`` fixture (tests/conftest.py) and `CliProcess`
(tests/cli_process.py) run each call inside `apps_imported_anew`.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def apps_imported_anew(*libraries: str) -> Iterator[None]:
    """On the way out, restore `sys.path` and drop the modules imported inside, except
    those under the interpreter's prefixes or ``libraries`` (directories)."""
    modules, path = set(sys.modules), list(sys.path)
    try:
        yield
    finally:
        sys.path[:] = path
        for name in set(sys.modules) - modules:
            where = getattr(sys.modules[name], "__file__", None) or sys.prefix
            if not where.startswith((sys.prefix, sys.base_prefix, *libraries)):
                del sys.modules[name]
