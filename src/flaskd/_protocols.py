"""What the serving machinery needs of a service, as protocols: `Service` has it all.

Server backends need less than the whole `Service`: the app, a start that runs the
hooks and a stop. Typing them against these keeps the backends off `Service`, and
so keeps the modules from importing each other in a circle.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import flask

if TYPE_CHECKING:
    from ._config import Resolved, Sources
    from ._parser import Schema


class Lifecycle(Protocol):
    """What a server backend needs of a service: its app, its start and its stop."""

    @property
    def app(self) -> flask.Flask: ...

    def start(self, resolved: Resolved | None = None, *, dev: bool = False) -> flask.Flask:
        """Apply ``resolved`` and run the start-up hooks, once per process."""
        ...

    def stop(self) -> None:
        """Run the shutdown hooks, once."""
        ...

    def notes(self, resolved: Resolved, *, dev: bool = False) -> list[str]:
        """The warnings starting with ``resolved`` logs."""
        ...


class Configurable(Lifecycle, Protocol):
    """What a script's command line needs of a service too: its parser and defaults."""

    @property
    def parser(self) -> argparse.ArgumentParser | None: ...

    @property
    def schema(self) -> Schema: ...

    @property
    def env_prefix(self) -> str: ...

    @property
    def serve_defaults(self) -> Mapping[str, Any]: ...

    def resolve(self, sources: Sources | None = None, *, complete: bool = True) -> Resolved:
        """Resolve the configuration from ``sources``."""
        ...
