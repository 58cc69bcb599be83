"""The README stays true to the code."""

from __future__ import annotations

import re

from conftest import ROOT
from flaskd._settings import markdown_table


def test_readme_settings_table_is_generated_from_the_declarations() -> None:
    """The serving settings table in the README is exactly what the declarations generate."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(
        r"<!-- settings-table:.*?-->\n(.*?)\n<!-- end settings-table -->", readme, re.S
    )
    assert match, "README has no settings table markers"
    assert match[1] == markdown_table()
