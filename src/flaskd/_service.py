"""`Service`: a Flask app, its options and its lifecycle, served the same way everywhere."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import inspect
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import flask

from ._config import Resolved, Sources, resolve
from ._errors import StartupError
from ._logging import warn
from ._parser import read_parser
from ._settings import ENV_PREFIX, SETTINGS
from ._state import state as process_state

log = logging.getLogger("flaskd")

Hook = Callable[[flask.Flask], Any]
H = TypeVar("H", bound=Hook)

StartResponse = Callable[..., Any]


class Service:
    """A Flask app with its options and lifecycle hooks, runnable as a script or under any server.

    ``parser`` is the app's argparse parser: each option's ``dest``, uppercased,
    is a key of ``app.config``, with the option's type, default, choices and
    ``required`` carried over. ``env_prefix`` names the env vars that set those
    keys (``NOTES_`` gives ``NOTES_DB``); by default it is derived from the
    name of the app's module file. ``serve`` gives this app's serving defaults,
    for example ``{"port": 5300}``.

    The `Service` is itself a WSGI application: a server handed it configures
    the app and runs the start-up hooks once, before the first response.
    """

    def __init__(
        self,
        app: flask.Flask,
        parser: argparse.ArgumentParser | None = None,
        *,
        env_prefix: str | None = None,
        serve: Mapping[str, Any] | None = None,
    ) -> None:
        self.app = app
        self.parser = parser
        self.schema = read_parser(parser)
        self.env_prefix = env_prefix if env_prefix is not None else _derive_prefix(app)
        problem = prefix_problem(self.env_prefix)
        if problem:
            raise ValueError(problem)
        unknown = set(serve or ()) - set(SETTINGS)
        if unknown:
            raise ValueError(f"unknown serving settings {sorted(unknown)}; known: {list(SETTINGS)}")
        self.serve_defaults = dict(serve or {})
        #: The configuration in force once the service has started.
        self.resolved: Resolved | None = None
        self._startup: list[Hook] = []
        self._shutdown: list[Hook] = []
        self._lock = threading.Lock()
        self._stop_lock = threading.RLock()  # held while the shutdown hooks run
        self._started = False
        self._failure: StartupError | None = None
        self._stopped = False
        self._starting: int | None = None  # the thread running the start-up hooks
        self._wsgi_app = app.wsgi_app
        app.wsgi_app = self._first_request  # type: ignore[method-assign]
        app.extensions["flaskd"] = self
        # Configure on the first app context too (flask shell, flask routes, a custom
        # command, a test's app.app_context()), unless flaskd runs the app: it starts the
        # service itself, with the command line's configuration, once the module is loaded.
        if not (_loading_by_flaskd or _is_main_script(app)):
            flask.appcontext_pushed.connect(self._on_app_context, app)
        # Flask's CLI and gunicorn accept a factory only if it is a plain function
        # (inspect.isfunction), so create_app is one, bound to this service.
        self.create_app = self._factory()

    @classmethod
    def of(cls, app: flask.Flask) -> Service:
        """The `Service` made for ``app``, or a new one (with flaskd's defaults) if none was."""
        service = app.extensions.get("flaskd")
        return service if isinstance(service, Service) else cls(app)

    def __repr__(self) -> str:
        return f"<Service {self.app.name!r} env_prefix={self.env_prefix!r}>"

    # -- lifecycle hooks -------------------------------------------------------------------

    def on_startup(self, hook: H) -> H:
        """Register ``hook(app)`` to run once per process before the first request.

        Start-up hooks run in registration order, when the app is created (so a
        broken database URL fails at start, not on the first request).
        """
        self._startup.append(_checked(hook, "on_startup"))
        return hook

    def on_shutdown(self, hook: H) -> H:
        """Register ``hook(app)`` to run on a graceful stop, in reverse registration order.

        A hook that raises is logged and the others still run.
        """
        self._shutdown.append(_checked(hook, "on_shutdown"))
        return hook

    # -- configuring and starting ------------------------------------------------------------

    def resolve(self, sources: Sources | None = None, *, complete: bool = True) -> Resolved:
        """Resolve the configuration without applying it; by default from ``os.environ`` alone.

        Raises `ConfigError` for a bad value, and with ``complete`` for a required key
        without one (else they are listed in ``missing``).
        """
        return resolve(
            self.app,
            self.schema,
            self.env_prefix,
            self.serve_defaults,
            sources or Sources(os.environ),
            complete=complete,
        )

    def start(self, resolved: Resolved | None = None, *, dev: bool = False) -> flask.Flask:
        """Apply the configuration and run the start-up hooks, once per process.

        Safe to call from many threads at once: the hooks run exactly once and
        every caller waits for them. Raises `ConfigError` for a bad value and
        `StartupError` when a hook raises (and again on every later call).
        """
        if not self._started and self._starting != threading.get_ident():
            with self._lock:
                if self._failure is not None:
                    raise self._failure
                if not self._started:
                    self._starting = threading.get_ident()  # a hook may push an app context
                    try:
                        self._start(resolved, dev)
                    finally:
                        self._starting = None
        return self.app

    def _on_app_context(self, app: flask.Flask, **kwargs: Any) -> None:
        module = sys.modules.get(app.import_name)
        # An app context pushed while the app's module is still being imported comes before
        # the hooks below it are registered: too early to start.
        importing = getattr(getattr(module, "__spec__", None), "_initializing", False)
        if not self._started and not importing:
            self.start()

    def _start(self, resolved: Resolved | None, dev: bool) -> None:
        resolved = resolved or self.resolve()
        warn(self.notes(resolved, dev=dev))
        for key, value in resolved.app.items():
            self.app.config[key] = value.value
        if dev:
            self.app.config["DEBUG"] = True
        elif self.app.config.get("DEBUG") and "DEBUG" in self.schema.options:
            self.app.config["DEBUG"] = False
        self.resolved = resolved
        for hook in self._startup:
            try:
                hook(self.app)
            except Exception as e:
                self._failure = StartupError(_name(hook), e)
                self._failure.__cause__ = e
                raise self._failure from e
        self._started = True
        process_state.started = True  # readiness: this process may take traffic
        atexit.register(self.stop)

    def notes(self, resolved: Resolved, *, dev: bool = False) -> list[str]:
        """The warnings that starting with ``resolved`` logs."""
        notes = list(resolved.warnings)
        debug = resolved.app.get("DEBUG")
        if not dev and debug is not None and debug.value and "DEBUG" in self.schema.options:
            notes.append(f"DEBUG is on from {debug.source}; ignored outside dev mode")
        if not resolved.settings.forwarded_allow_ips and self._behind_proxy_fix():
            trusted = SETTINGS["forwarded_allow_ips"]
            notes.append(
                f"app.wsgi_app is werkzeug's ProxyFix, but {trusted.name} is empty: flaskd"
                " removes X-Forwarded-* headers from every client, so ProxyFix never sees them;"
                f" give your proxy's address with {trusted.flag} ({trusted.env})"
            )
        return notes

    def _behind_proxy_fix(self) -> bool:
        """The app's WSGI callable is a ProxyFix (set before or after the service was made)."""
        from werkzeug.middleware.proxy_fix import ProxyFix

        return isinstance(self.app.wsgi_app, ProxyFix) or isinstance(self._wsgi_app, ProxyFix)

    def stop(self) -> None:
        """Run the shutdown hooks in reverse order, once; log each failure and go on.

        A call made while another thread runs the hooks returns once they have run.
        """
        with self._stop_lock:
            with self._lock:
                if self._stopped or not self._started:
                    return
                self._stopped = True
            for hook in reversed(self._shutdown):
                try:
                    hook(self.app)
                except Exception:
                    log.exception("shutdown hook %s failed", _name(hook))

    def _factory(self) -> Callable[..., Any]:
        def create_app(environ: Any = None, start_response: StartResponse | None = None) -> Any:
            """Return the configured app, running the start-up hooks once.

            Called as ``create_app(environ, start_response)``, as some entry
            points do, it answers that request instead.
            """
            app = self.start()
            if environ is not None and start_response is not None:
                return app(environ, start_response)
            return app

        create_app.__flaskd_service__ = self  # type: ignore[attr-defined]
        return create_app

    # -- WSGI --------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request, starting the service first if it has not started."""
        return self.app(environ, start_response)

    def _first_request(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        # Sits in app.wsgi_app until the service has started, so that a server
        # handed the bare app (gunicorn notes:app) still gets configuration and hooks.
        self.start()
        if self.app.wsgi_app == self._first_request:
            self.app.wsgi_app = self._wsgi_app  # type: ignore[method-assign]
        return self._wsgi_app(environ, start_response)

    # -- standalone ---------------------------------------------------------------------------

    def main(self, argv: Sequence[str] | None = None) -> NoReturn:
        """Run as a script: parse the command line, then serve until stopped.

        The app's options and the serving options (``--host``, ``--port``,
        ``--threads``, ``--server``, ``--config``, ``--dev``...) are read from
        ``argv`` (default ``sys.argv[1:]``). Serves with waitress unless told
        otherwise; ``--dev`` runs Flask's reloader and debugger on loopback.
        Exits 0 after a graceful stop, 2 on a configuration error and 3 when a
        start-up hook fails.
        """
        from ._run import exit_on_error, serve
        from ._standalone import parse_command_line

        with exit_on_error(prog=Path(sys.argv[0]).name):
            sources, dev = parse_command_line(self, sys.argv[1:] if argv is None else argv)
            serve(self, self.resolve(sources), dev=dev)
        sys.exit(0)


#: True while flaskd imports the module of the app it is about to serve (`load_target`).
_loading_by_flaskd = False


@contextlib.contextmanager
def loading_by_flaskd() -> Iterator[None]:
    """Within it, a `Service` made at import waits for flaskd to start it."""
    global _loading_by_flaskd
    _loading_by_flaskd = True
    try:
        yield
    finally:
        _loading_by_flaskd = False


def _is_main_script(app: flask.Flask) -> bool:
    """Whether ``app`` is defined in the script Python runs (``service.main()`` starts it)."""
    return app.import_name == "__main__"


def _checked(hook: Hook, decorator: str) -> Hook:
    """Check that a hook takes exactly the app, so a wrong one fails where it is declared."""
    if inspect.iscoroutinefunction(hook) or inspect.isasyncgenfunction(hook):
        raise TypeError(
            f"@service.{decorator} hook {_name(hook)} is async: flaskd calls hooks as plain"
            " functions and would never run it; make it a def (asyncio.run() inside if needed)"
        )
    try:
        inspect.signature(hook).bind(None)
    except TypeError:
        message = f"@service.{decorator} hook {_name(hook)} must take one argument, the app"
        raise TypeError(message) from None
    return hook


def _name(hook: Callable[..., Any]) -> str:
    """``module:function``; a script's module is named after its file, as when imported."""
    module = getattr(hook, "__module__", None) or "?"
    file = getattr(sys.modules.get(module), "__file__", None)
    if module == "__main__" and file:
        module = Path(file).stem
    return f"{module}:{getattr(hook, '__qualname__', repr(hook))}"


def _derive_prefix(app: flask.Flask) -> str:
    """``NOTES_`` for an app defined in ``notes.py``, the same whether run or imported."""
    module = sys.modules.get(app.import_name)
    file = getattr(module, "__file__", None)
    return prefix_for(Path(file) if file else Path(app.import_name.rpartition(".")[2]))


def prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot be an app's env prefix, or None when it can."""
    if prefix.upper().startswith(ENV_PREFIX):
        return f"env prefix {prefix!r} clashes with flaskd's {ENV_PREFIX}"
    return None


def prefix_for(path: Path) -> str:
    """The env prefix of an app defined in ``path``: ``inventory.py`` gives ``INVENTORY_``,
    ``shop/__init__.py`` gives ``SHOP_``."""
    name = path.parent.name if path.stem == "__init__" else path.stem
    return "".join(c if c.isalnum() else "_" for c in name).upper().strip("_") + "_"
