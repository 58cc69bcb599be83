"""``flaskd migrate``: rewrite a standalone Flask script into a dual-mode flaskd app.

Each rewrite is a rule with an id (see `RULES`), one module each, built on
LibCST so that comments and formatting outside the rewritten code survive.
`migrate_source` (in ``flaskd.migrate.engine``) converts one file's text; the
``flaskd migrate`` command walks paths, shows diffs and writes files.
This package imports LibCST only when a conversion runs.
"""

from ._registry import RULES

__all__ = ["RULES"]
