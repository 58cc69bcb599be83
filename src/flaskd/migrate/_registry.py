"""The rules of ``flaskd migrate``, by id, in the order they run; imported lazily."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Rule:
    id: str
    module: str
    summary: str


RULES = {
    r.id: r
    for r in (
        Rule("click", "click_main", "a main() that takes click options gets an argparse parser"),
        Rule("optparse", "optparse_parser", "an optparse parser becomes an argparse parser"),
        Rule(
            "first-request",
            "first_request",
            "@app.before_first_request and @bp.before_app_first_request become @service.on_startup",
        ),
        Rule("startup", "startup", "init code on the main path becomes a @service.on_startup hook"),
        Rule(
            "shutdown",
            "shutdown",
            "code after app.run() becomes a @service.on_shutdown hook",
        ),
        Rule(
            "serve", "serve", "app.run(...) becomes service.main(), host and port kept as defaults"
        ),
        Rule("options", "options", 'reads of the parsed options become app.config["KEY"]'),
        Rule("parser", "parser", "the parser becomes module-level and is passed to Service(...)"),
    )
}
#: Rules that convert the main path together: each needs the others it applies with.
MAIN_PATH = ("optparse", "startup", "shutdown", "serve", "options", "parser")
