"""A module that fails while it is imported."""

import this_module_does_not_exist  # noqa: F401
