"""One description of a deployment: what runs, with which settings, secrets and state, as whom.

`describe` builds a `Deployment` from a TARGET and the options of a generator
(`flaskd systemd` today); each target's renderer is a pure function of it. Building
it checks what would keep the service from starting anywhere: a target that does not
load, a bad value in the env file or the flags, a backend that is not installed or
refuses a setting, a credential file that does not exist, a ``--state`` for an option
that names no file. What only one target cares about (who may read which path on
this machine, ports below 1024) is that target's own check.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import tempfile
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from ._config import Resolved, Sources
from ._envfile import EnvFile, place, read_env_file
from ._errors import ConfigError
from ._fields import Field, field_like
from ._service import Service
from ._settings import SETTINGS
from ._sockets import Address, addresses
from ._target import load_target
from .servers.base import check_probe_paths, load_server

if TYPE_CHECKING:
    from .servers.base import Server

#: Suffixes of option defaults that look like data files the app writes.
DATA_SUFFIXES = (".sqlite", ".sqlite3", ".db", ".json", ".csv", ".log")
_NAME = re.compile(r"[A-Za-z0-9:_.\\-]+")


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who the service runs as: ``user`` None is a user made up for it (a dynamic user)."""

    user_scope: bool = False
    user: str | None = None
    group: str | None = None


@dataclasses.dataclass(frozen=True)
class DataFile:
    """An app option whose value is a relative file name that looks like data the app writes:
    the service would look for it where it cannot write, on every target, without --state."""

    key: str
    value: str

    def warning(self, where: str, keep: str) -> str:
        """The warning a target gives: ``where`` the file would be, and why it is read-only
        there; ``keep`` where ``--state`` puts it instead."""
        return (
            f"{self.key} is {self.value!r}, a file in {where}: if the app writes it, pass"
            f" --state {self.key.lower()} to keep it in {keep}"
        )


@dataclasses.dataclass(frozen=True)
class Deployment:
    """What a generator knows about the service it deploys, whatever the target."""

    name: str
    service: Service
    #: The configuration the service will see (env file, credentials, config file, flags).
    resolved: Resolved
    backend: type[Server]
    #: The interpreter that runs it, as called (a venv's python is not resolved).
    python: str
    workdir: str
    #: TARGET as ``flaskd run`` gets it, from ``workdir``.
    target: str
    #: ``flaskd run`` and its arguments, after the interpreter (``-m flaskd run TARGET ...``).
    command: list[str]
    places: list[Address]
    #: The env files (``EnvironmentFile=``), a later one winning.
    env_files: list[EnvFile]
    #: The app's secrets read from files: (credential name, path on this machine).
    credentials: list[tuple[str, str]]
    #: Env vars of the env file that name a secret file (``<PREFIX><KEY>_FILE``): var -> path.
    secret_files: dict[str, str]
    #: The app's options kept in the state directory: (key, file name there).
    state: list[tuple[str, str]]
    identity: Identity
    #: The platform listens and hands the sockets over (systemd socket activation).
    socket: bool
    memory_deny_write_execute: bool = False
    private_network: bool = False
    #: Options naming data files outside the state directory: each target words the warning.
    data_files: list[DataFile] = dataclasses.field(default_factory=list)
    #: The config file (``--config``, absolute), None without one.
    config_file: str | None = None
    #: Serving settings given to the generator, as ``flaskd run`` takes them (name -> text),
    #: the graceful timeout always among them; see `run_args`.
    flags: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def graceful_timeout(self) -> float:
        return float(self.resolved.serve["graceful_timeout"].value)

    @property
    def drain_delay(self) -> float:
        """Seconds the service keeps serving after SIGTERM while readiness is 503."""
        return self.resolved.settings.drain_delay

    @property
    def stop_time(self) -> float:
        """Seconds a graceful stop may take: the drain delay, then the graceful timeout."""
        return self.drain_delay + self.graceful_timeout

    def run_args(self, skip: Collection[str] = ()) -> list[str]:
        """The serving flags of ``flaskd run`` for the settings given, but those in ``skip``."""
        return [
            arg
            for setting in SETTINGS.values()
            if setting.name in self.flags and setting.name not in skip
            for arg in setting.args(self.flags[setting.name])
        ]

    def source(self, var: str) -> str:
        """Where the env var ``var`` is set: its env file's ``FILE:LINE``."""
        return place(self.env_files, var) or f"env {var}"


def describe(
    target: str,
    *,
    name: str | None = None,
    user_scope: bool = False,
    socket: bool = False,
    service_user: str | None = None,
    group: str | None = None,
    env_files: Sequence[str] = (),
    credentials: Sequence[str] = (),
    state: Sequence[str] = (),
    memory_deny_write_execute: bool = False,
    private_network: bool = False,
    config_file: str | None = None,
    serve_flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Deployment:
    """Describe the deployment of ``target`` served by ``python -m flaskd run``.

    ``serve_flags`` are serving settings as ``flaskd run`` takes them (name -> text, a
    tuple of texts for a repeatable one, a bool for a switch). ``credentials`` are
    ``KEY=PATH`` (the app's secret KEY, read from PATH); ``state`` are ``KEY`` or
    ``KEY=FILE``: the app's option KEY is set to a file in the state directory.
    ``environ`` are variables the target sets for the service (an image's ``ENV``).

    Raises `ConfigError` for anything that would keep the service from starting.
    """
    flags = {k: v for k, v in (serve_flags or {}).items() if v not in (None, ())}
    if user_scope and (service_user is not None or group is not None):
        raise ConfigError(
            "--service-user/--group: a user unit runs as the user whose manager runs it;"
            " drop them, or generate a system unit (without --user)"
        )
    path, _, attr = target.partition(":")
    if path.endswith(".py") or os.path.isfile(path):
        workdir = os.path.dirname(os.path.abspath(path))
        run_target = os.path.basename(path) + (f":{attr}" if attr else "")
    else:
        workdir, run_target = os.getcwd(), target
    name = check_name(name or default_name(target))
    config = os.path.abspath(config_file) if config_file else None

    service = load_target(target)
    creds = [_credential(text, service) for text in credentials]
    # The service reads a relative file name in an env file from its working directory.
    envs = [
        e.with_values(_named_files(e.values, service, workdir))
        for e in map(read_env_file, env_files)
    ]
    resolved = _resolve(service, envs, flags, config, creds, environ or {})
    # A backend that is not installed here fails now, not at start; so does a setting
    # it refuses.
    server = resolved.serve["server"]
    if server.value == "dev":
        raise ConfigError(
            f"{server.source}: the dev server has no place in a service (reloader, debugger,"
            " no readiness): choose waitress, gunicorn or granian"
        )
    backend = load_server(server.value)
    backend.check_supported(resolved.settings)  # as the server will at start
    check_probe_paths(service.app, resolved.settings)
    places = addresses(
        resolved.serve["bind"].value,
        resolved.serve["host"].value,
        resolved.serve["port"].value,
        resolved.serve["bind"].source,
    )

    states = [_state(text, service, resolved, name) for text in state]
    for key, _ in states:
        var = service.env_prefix + key
        if (where := place(envs, var)) is not None:
            # systemd lets EnvironmentFile= override Environment=: --state would be undone.
            raise ConfigError(
                f"--state {key.lower()}: an env file sets {var} too ({where}),"
                " and it would win; remove it from the env file or drop --state"
            )

    # The graceful timeout is always given, so that a stop timeout cannot drift from it.
    given = {**flags, "graceful_timeout": number(float(resolved.serve["graceful_timeout"].value))}
    command = ["-m", "flaskd", "run", run_target]
    if config:
        command += ["--config", config]
    for setting in SETTINGS.values():
        if setting.name in given and not (socket and setting.name in ("bind", "host", "port")):
            command += setting.args(given[setting.name])

    return Deployment(
        name=name,
        service=service,
        resolved=resolved,
        backend=backend,
        python=sys.executable,
        workdir=workdir,
        target=run_target,
        command=command,
        places=places,
        env_files=envs,
        credentials=creds,
        secret_files=_secret_files(envs, service),
        state=states,
        identity=Identity(user_scope, service_user, group),
        socket=socket,
        memory_deny_write_execute=memory_deny_write_execute,
        private_network=private_network,
        data_files=_data_files(service, resolved, {k for k, _ in states}),
        config_file=config,
        flags=given,
    )


def default_name(target: str) -> str:
    """The service's name for ``target`` when none is given: its file or module name."""
    path = target.partition(":")[0]
    stem = Path(path).stem if path.endswith(".py") else path.rpartition(".")[2]
    return stem.replace("_", "-") or "flaskd"


def check_name(name: str) -> str:
    """``name`` if it can name a unit (``.service`` dropped); else `ConfigError`."""
    name = name.removesuffix(".service")
    if not _NAME.fullmatch(name) or name.startswith("-"):
        raise ConfigError(
            f"--name {name!r}: not a unit name; use letters, digits and - _ . : (no @ or spaces)"
        )
    return name


def number(value: float) -> str:
    """``30`` for 30.0, ``2.5`` for 2.5: a number of seconds as a flag or a setting takes it."""
    return str(int(value)) if float(value).is_integer() else str(value)


def app_keys(service: Service) -> set[str]:
    """The keys the app knows: its options and what its config holds (Flask's settings too)."""
    return set(service.schema.options) | set(service.app.config)


def _secret_files(env_files: Sequence[EnvFile], service: Service) -> dict[str, str]:
    """The env files' ``<PREFIX><KEY>_FILE`` variables (made absolute): var -> path."""
    known = app_keys(service)
    secrets = {}
    for env_file in env_files:
        for var, value in env_file.values.items():
            key = var.removeprefix(service.env_prefix)
            if var.startswith(service.env_prefix) and key.endswith("_FILE") and key not in known:
                secrets[var] = value
    return secrets


def _named_files(env: Mapping[str, str], service: Service, workdir: str) -> dict[str, str]:
    """The env file's variables that name a file the service reads, ``<PREFIX>CONFIG`` and
    the secrets' ``<PREFIX><KEY>_FILE``, each with that file's absolute path: the service
    reads a relative one from its working directory, and so must flaskd."""
    prefix = service.env_prefix
    known = app_keys(service)
    named = {}
    for var, value in env.items():
        key = var.removeprefix(prefix)
        names_file = key == "CONFIG" or (key.endswith("_FILE") and key not in known)
        if var.startswith(prefix) and names_file and value:
            named[var] = os.path.join(workdir, value)
    return named


def _resolve(
    service: Service,
    env_files: Sequence[EnvFile],
    flags: Mapping[str, Any],
    config: str | None,
    credentials: Sequence[tuple[str, str]],
    target_environ: Mapping[str, str],
) -> Resolved:
    """Resolve the configuration the service will see: env files, credentials, flags, and
    the variables the target sets."""
    with tempfile.TemporaryDirectory() as creds:
        for name, path in credentials:
            os.symlink(path, os.path.join(creds, name))
        environ = {**target_environ, **({"CREDENTIALS_DIRECTORY": creds} if credentials else {})}
        return service.resolve(Sources.from_cli(environ, config, flags, env_files))


def known_key(text: str, service: Service, what: str) -> str:
    """The app key ``text`` names (``db``, ``max-length``); `ConfigError` if it has none."""
    key = text.strip().replace("-", "_").upper()
    if key not in app_keys(service):
        options = ", ".join(sorted(service.schema.options)) or "none"
        raise ConfigError(
            f"{what}: the app has no option {key}; its options are {options}"
            " (or one of Flask's settings, such as SECRET_KEY)"
        )
    return key


def _credential(text: str, service: Service) -> tuple[str, str]:
    key, sep, path = text.partition("=")
    if not sep or not key or not os.path.isabs(path):
        raise ConfigError(f"--credential {text!r}: expected KEY=/absolute/path/to/file")
    key = known_key(key, service, f"--credential {text!r}")
    if not os.path.isfile(path):
        raise ConfigError(f"--credential {text!r}: no file {path!r} on this machine")
    # flaskd reads $CREDENTIALS_DIRECTORY/<key> or <key, lowercased>: use the lowercase name.
    return key.lower(), path


def _state(text: str, service: Service, resolved: Resolved, name: str) -> tuple[str, str]:
    key_text, sep, file = text.partition("=")
    key = known_key(key_text, service, f"--state {text!r}")
    option = service.schema.options.get(key)
    field = option.field if option else field_like(key, service.app.config.get(key))
    if not _takes_a_file_name(field):
        # The service would fail to convert the state file's path at start.
        raise ConfigError(
            f"--state {text!r}: {key} takes {field.expected()}; --state is for an option"
            " that names a file the app writes (a path or a string), to keep it in the"
            " state directory"
        )
    if not sep:
        current = resolved.app[key].value if key in resolved.app else None
        default = os.path.basename(current) if isinstance(current, str | PurePath) else ""
        file = default or key.lower()
    if not file or "/" in file or file in (".", ".."):
        raise ConfigError(
            f"--state {text!r}: expected KEY or KEY=FILE, FILE a name inside /var/lib/{name}"
        )
    return key, file


def _takes_a_file_name(field: Field) -> bool:
    """Whether ``field`` takes one path or string, whatever its text."""
    convert = field.convert
    path = isinstance(convert, type) and issubclass(convert, PurePath)
    return (convert is str or path) and field.shape == "value" and field.choices is None


def _data_files(service: Service, resolved: Resolved, in_state: set[str]) -> list[DataFile]:
    found = []
    for key in service.schema.options:
        value = resolved.app[key].value if key in resolved.app else None
        if key in in_state or not isinstance(value, str) or os.path.isabs(value):
            continue
        if value.endswith(DATA_SUFFIXES):
            found.append(DataFile(key, value))
    return found
