"""`flaskd.run()`: what ``flaskd run`` does, from Python."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import flask

from ._config import Sources
from ._envfile import load_env_files
from ._run import serve
from ._service import Service
from ._settings import SETTINGS
from ._target import load_target


def run(
    target: str | Service | flask.Flask,
    *,
    server: str | None = None,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    threads: int | None = None,
    config: str | None = None,
    env_files: Sequence[str] = (),
    dev: bool = False,
    **settings: Any,
) -> None:
    """Serve ``target`` until a graceful stop, as ``flaskd run`` does.

    ``target`` is what ``flaskd run`` takes (``"notes.py"``, ``"notes:app"``,
    ``"notes:create_app()"``), a `Service`, or a Flask app. The keyword arguments are
    serving settings, by the names of the settings table (``access_log=True``,
    ``graceful_timeout=10``, ``bind=["unix:/run/notes/notes.sock"]``); like flags, they
    rank above the env vars and the config file. ``config`` names the config file;
    ``env_files`` are read into the environment below its own variables. ``dev=True``
    serves with Flask's reloader and debugger, on loopback only.

    Returns after a graceful stop. Raises `ConfigError` for a bad value, naming it and
    what would be accepted, and `StartupError` when a start-up hook fails.
    """
    given = {"server": server, "host": host, "port": port, "workers": workers, "threads": threads}
    given.update(settings)
    unknown = sorted(set(given) - set(SETTINGS))
    if unknown:
        raise TypeError(f"run() got unknown settings {unknown}; the settings are {list(SETTINGS)}")
    environ = dict(os.environ)
    files = load_env_files(env_files, os.environ, dev=dev)
    sources = Sources(
        environ,
        serve_flags={n: (v, f"run() argument {n}") for n, v in given.items() if v is not None},
        config_flag=(config, "run() argument config") if config else None,
        env_files=files,
    )
    if isinstance(target, str):
        service = load_target(target)
    elif isinstance(target, Service):
        service = target
    else:
        service = Service.of(target)
    serve(service, service.resolve(sources), dev=dev)
