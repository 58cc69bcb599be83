"""Resolving an app's configuration from its sources, remembering where each value came from.

Sources, lowest to highest precedence, the same in every mode:

1. the defaults of the app's argparse parser;
2. what the app itself put in ``app.config`` (Flask's own defaults do not count);
3. a config file (TOML or ``.py``) named by ``--config`` or ``<PREFIX>CONFIG``;
4. ``$CREDENTIALS_DIRECTORY/<key>`` (systemd's ``LoadCredential=``);
5. env vars ``<PREFIX><KEY>``, or ``<PREFIX><KEY>_FILE`` naming a file that holds the value;
6. command-line flags, in standalone mode only.

Serving settings follow the same order with their own names: their declared
default, the serving defaults the app gives, the file's ``[serve]`` table,
``FLASKD_<NAME>`` env vars, flags. ``FLASKD_`` is flaskd's own: any other variable
there is an error.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import flask

from ._config_files import load_file
from ._envfile import EnvFile, place
from ._errors import ConfigError
from ._fields import MASK, BadValue, Field, field_like, hide_password, looks_secret, mask
from ._parser import Schema
from ._settings import ENV_PREFIX, SETTINGS, Serve

log = logging.getLogger("flaskd")


@dataclasses.dataclass(frozen=True)
class Value:
    """A resolved value and where it came from (``"env NOTES_DB"``, ``"notes.toml:3"``...)."""

    value: Any
    source: str
    secret: bool = False

    def shown(self) -> str:
        """The value as it may be displayed: a secret is masked (an empty one is shown empty)."""
        return MASK if self.secret and self.value not in (None, "") else mask(self.value)

    def public(self) -> Any:
        """The value as it may be exported (JSON): a secret is masked, so is a password in a URL."""
        if self.secret and self.value not in (None, ""):
            return MASK
        return hide_password(self.value) if isinstance(self.value, str) else self.value


@dataclasses.dataclass
class Resolved:
    """The outcome of resolving: app config and serving settings, each with provenance."""

    app: dict[str, Value]
    serve: dict[str, Value]
    config_file: str | None = None
    #: Likely mistakes, logged when the service starts: unknown keys in the config file,
    #: env vars one typo away from a known key.
    warnings: list[str] = dataclasses.field(default_factory=list)
    #: Things ``flaskd config`` points out: options that land on Flask's own settings.
    notes: list[str] = dataclasses.field(default_factory=list)
    #: Required keys without a value: key -> what to do about it.
    missing: dict[str, str] = dataclasses.field(default_factory=dict)

    @functools.cached_property
    def settings(self) -> Serve:
        """The serving settings as one typed, frozen object, each with its source."""
        values: dict[str, Any] = {
            n: tuple(v.value) if isinstance(v.value, list) else v.value
            for n, v in self.serve.items()
        }
        return Serve(**values, sources={n: v.source for n, v in self.serve.items()})

    def check_complete(self) -> None:
        """Raise `ConfigError` for the first required key that has no value."""
        for key, why in self.missing.items():
            raise ConfigError(f"{key} {why}")


@dataclasses.dataclass(frozen=True)
class Sources:
    """What one resolution reads: the environment and, in standalone mode, the flags."""

    environ: Mapping[str, str]
    #: App keys given as flags: key -> (value already converted by argparse, flag).
    app_flags: Mapping[str, tuple[Any, str]] = dataclasses.field(default_factory=dict)
    #: Serving settings given as flags: name -> (text or value, where: "flag --port").
    serve_flags: Mapping[str, tuple[Any, str]] = dataclasses.field(default_factory=dict)
    #: The config file named on the command line: (path, where: "flag --config").
    config_flag: tuple[str, str] | None = None
    #: Whether this mode reads the command line (standalone), for the missing-value message.
    command_line: bool = False
    #: Env files (``--env-file``; ``.flaskenv`` and ``.env`` in dev mode), later ones first:
    #: their variables count below the real environment's.
    env_files: Sequence[EnvFile] = ()

    @classmethod
    def from_cli(
        cls,
        environ: Mapping[str, str],
        config_file: str | None,
        serve_flags: Mapping[str, Any],
        env_files: Sequence[EnvFile] = (),
    ) -> Sources:
        """The sources of a ``flaskd`` command: ``serve_flags`` are its serving options by
        name, None (or empty) where not given."""
        given = {
            n: (v, f"flag {SETTINGS[n].flag}")
            for n, v in serve_flags.items()
            if v not in (None, ())
        }
        config = (config_file, "flag --config") if config_file else None
        return cls(environ, serve_flags=given, config_flag=config, env_files=env_files)

    @functools.cached_property
    def variables(self) -> Mapping[str, str]:
        """The environment as the app sees it: the env files' variables under the real ones."""
        if not self.env_files:
            return self.environ
        merged: dict[str, str] = {}
        for env_file in self.env_files:
            merged.update(env_file.values)
        merged.update(self.environ)
        return merged

    def where(self, var: str) -> str:
        """Where ``var`` comes from: ``env VAR``, or the env file line that sets it."""
        in_file = None if var in self.environ else place(self.env_files, var)
        return in_file or f"env {var}"


def resolve(
    app: flask.Flask,
    schema: Schema,
    prefix: str,
    serve_defaults: Mapping[str, Any],
    sources: Sources,
    *,
    complete: bool = True,
) -> Resolved:
    """Resolve the app's configuration and the serving settings from every source.

    Raises `ConfigError` naming the key, the source and what would be accepted; with
    ``complete`` also for a required key without a value (else see `Resolved.missing`).
    """
    environ = sources.variables
    fields = {key: option.field for key, option in schema.options.items()}
    values: dict[str, Value] = {}
    for key, f in fields.items():
        values[key] = Value(f.default, "default", f.secret)

    baseline = app.make_config()
    for key, current in app.config.items():
        if key not in baseline or baseline[key] != current:
            values[key] = Value(current, "app", _secret(fields, key))
            fields.setdefault(key, field_like(key, current, looks_secret(key)))

    serve = _serve_defaults(schema, serve_defaults)
    if environ.get("PORT"):
        # The platform's port (Heroku, Cloud Run, Fly): the port only, never the host.
        where = sources.where("PORT")
        serve["port"] = Value(_convert(SETTINGS["port"].field, environ["PORT"], where), where)
    resolved = Resolved(values, serve)
    known = set(fields) | set(baseline)

    path, origin = _config_path(prefix, sources)
    if path is not None:
        resolved.config_file = path
        app_data, serve_data = load_file(path, origin)
        toml = path.endswith(".toml")
        for key, (data, where) in app_data.items():
            if key not in known:
                unknown = _serving_key(where, key, schema, toml) or _unknown_key(where, key, known)
                resolved.warnings.append(unknown)
            f = fields.get(key) or field_like(key, data, looks_secret(key))
            values[key] = Value(_convert(f, data, where, from_file=True), where, f.secret)
        for name, (data, where) in serve_data.items():
            if name not in SETTINGS:  # flaskd's own table: a typo there is an error
                raise ConfigError(_unknown_key(where, name, SETTINGS, table="[serve]"))
            serve[name] = Value(_convert(SETTINGS[name].field, data, where, True), where)

    well_known = _WELL_KNOWN | set(baseline)
    for key, text, where, from_file in _env_values(prefix, sources, known):
        if key not in known and prefix + key in well_known:
            resolved.warnings.append(
                f"{where} not read as the app key {key!r}: it is a well-known variable, not"
                f" one of the app's (declare an option for {key} to read it)"
            )
            continue
        if key not in known:
            # Kept, as Flask's from_prefixed_env keeps it (an extension's setting, say);
            # warned about only when it is one typo away from a known key.
            note = _serving_key(where, key, schema, toml=False)
            if note is None and (close := _closest(key, known, cutoff=0.8)):
                meant = prefix + close + ("_FILE" if from_file else "")
                note = f"{where}: unknown key {key!r}; did you mean {meant}?"
            if note:
                resolved.warnings.append(note)
        f = fields.get(key) or _like_json(key, baseline.get(key))
        values[key] = Value(_convert(f, text, where), where, f.secret or from_file)

    _check_flaskd_vars(sources, prefix)
    for s in SETTINGS.values():
        if s.env in environ:
            where = sources.where(s.env)
            serve[s.name] = Value(_convert(s.field, environ[s.env], where), where)

    for key, (value, flag) in sources.app_flags.items():
        values[key] = Value(value, f"flag {flag}", _secret(fields, key))
    for name, (data, where) in sources.serve_flags.items():
        serve[name] = Value(_convert(SETTINGS[name].field, data, where), where)

    _check_exclusive(schema, values)
    resolved.missing = _missing(schema, values, prefix, sources)
    for name, _action in schema.address.items():
        values[name.upper()] = serve[name]
    _note_collisions(schema, baseline, resolved)
    if complete:
        resolved.check_complete()
    return resolved


#: Variables commonly set for other programs, never read as an undeclared app key even when
#: they start with the app's prefix (server.py gives SERVER_, and SERVER_NAME is Flask's).
#: Flask's own setting names are added to these.
_WELL_KNOWN = frozenset(
    {
        "SERVER_SOFTWARE",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    }
)


def _secret(fields: Mapping[str, Field], key: str) -> bool:
    f = fields.get(key)
    return f.secret if f is not None else looks_secret(key)


def _serve_defaults(schema: Schema, serve_defaults: Mapping[str, Any]) -> dict[str, Value]:
    serve = {name: Value(s.field.default, "default") for name, s in SETTINGS.items()}
    for name, action in schema.address.items():
        if action.default is not None:
            where = f"default of {action.option_strings[0]}"
            serve[name] = Value(_convert(SETTINGS[name].field, action.default, where), where)
    for name, data in serve_defaults.items():
        serve[name] = Value(_convert(SETTINGS[name].field, data, "app"), "app")
    return serve


def _config_path(prefix: str, sources: Sources) -> tuple[str | None, str]:
    if sources.config_flag is not None:
        return sources.config_flag
    env = prefix + "CONFIG"
    if sources.variables.get(env):
        return sources.variables[env], sources.where(env)
    return None, ""


def _convert(f: Field, data: Any, where: str, from_file: bool = False) -> Any:
    try:
        return f.from_data(data) if from_file or not isinstance(data, str) else f.from_text(data)
    except BadValue as e:
        # A repeated flag's values are shown as one env var would give them.
        shown = MASK if f.secret else mask(" ".join(data) if isinstance(data, tuple) else data)
        raise ConfigError(f"{where}: invalid value {shown} for {f.key}: {e}") from None


def _like_json(key: str, current: Any) -> Field:
    """A field for an env var the app did not declare: typed like Flask's from_prefixed_env."""
    if current is not None:
        return field_like(key, current, looks_secret(key))

    def convert(text: str) -> Any:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text

    return Field(key, convert=convert, secret=looks_secret(key))


def _env_values(
    prefix: str, sources: Sources, known: Collection[str]
) -> Iterable[tuple[str, str, str, bool]]:
    """Yield (key, text, source, read from a file) for credentials and ``<PREFIX>`` env vars."""
    environ = sources.variables
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    if credentials:
        for key in sorted(known):
            for name in (key, key.lower()):
                path = Path(credentials, name)
                if path.is_file():
                    where = f"credential {name}"
                    yield key, _read_secret(path, where), where, True
                    break
    for var in sorted(environ):
        if not var.startswith(prefix) or var == prefix + "CONFIG" or var == prefix:
            continue
        key = var[len(prefix) :]
        if key.endswith("_FILE") and key not in known:
            key = key[: -len("_FILE")]
            where = sources.where(var)
            if prefix + key in environ:
                raise ConfigError(f"{where}: {prefix + key} is set too; set only one of them")
            yield key, _read_secret(Path(environ[var]), where), where, True
        else:
            yield key, environ[var], sources.where(var), False


def _read_secret(path: Path, where: str) -> str:
    try:
        return path.read_text().rstrip("\r\n")
    except OSError as e:
        raise ConfigError(f"{where}: cannot read {str(path)!r}: {e.strerror}") from None


def _closest(name: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known name that ``name`` is most likely a typo of, if any is close enough."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=cutoff)
    return close[0] if close else None


def _unknown_key(where: str, key: str, known: Iterable[str], table: str = "") -> str:
    note = f"{where}: unknown key {key!r}{' in ' + table if table else ''}"
    close = _closest(key, known)
    return note + (f"; did you mean {close!r}?" if close else " (is it a typo?)")


def _serving_key(where: str, key: str, schema: Schema, toml: bool) -> str | None:
    """For an app key named like a serving setting (``PORT``), the warning saying where that
    setting goes; an error if the app's own --host/--port makes it the serving address, as
    its value here would be dropped."""
    name = key.lower()
    # The app's own --port may keep another dest (--listen-port with a --port alias).
    dests = {action.dest: setting for setting, action in schema.address.items()}
    setting = dests.get(name, name)
    if setting not in SETTINGS:
        return None
    fix = "put it under [serve]" if toml else f"set {SETTINGS[setting].env}"
    if setting in schema.address:
        flags = schema.address[setting].option_strings
        flag = next((f for f in flags if f.startswith("--")), flags[0])
        raise ConfigError(
            f"{where}: the app's {flag} is the serving setting {setting},"
            f" which is not read from here: {fix}"
        )
    return f"{where}: unknown key {key!r}: {setting} is a serving setting: {fix}"


def _check_flaskd_vars(sources: Sources, prefix: str) -> None:
    """Refuse a ``FLASKD_*`` variable that names no serving setting: flaskd would ignore it."""
    names = [s.env for s in SETTINGS.values()]
    for var in sorted(sources.variables):
        if not var.startswith(ENV_PREFIX) or var in names:
            continue
        if var == ENV_PREFIX + "CONFIG":
            hint = f"name the config file with {prefix}CONFIG or --config"
        elif close := _closest(var.removeprefix(ENV_PREFIX), [n.upper() for n in SETTINGS]):
            hint = f"did you mean {ENV_PREFIX}{close}?"
        else:
            hint = "flaskd reads " + ", ".join(names)
        raise ConfigError(f"{sources.where(var)}: unknown flaskd setting; {hint}")


def _given(value: Value) -> bool:
    """Whether this value is not the parser's default, and not a secret read from an empty
    file."""
    if value.source == "default":
        return False
    return not (
        value.value == "" and (value.source.endswith("_FILE") or "credential" in value.source)
    )


def _missing(
    schema: Schema, values: Mapping[str, Value], prefix: str, sources: Sources
) -> dict[str, str]:
    """The required keys (and required exclusive groups) with no value: key -> what to do."""
    missing: dict[str, str] = {}
    for key, option in schema.options.items():
        if option.field.required and not _given(values[key]):
            missing[key] = "is required: " + _ways(schema, key, prefix, sources)
    for keys, required in schema.exclusive:
        if required and not any(_given(values[k]) for k in keys):
            ways = "; or ".join(_ways(schema, k, prefix, sources) for k in keys)
            missing[keys[0]] = "or " + " or ".join(keys[1:]) + " is required (one of them): " + ways
    return missing


def _ways(schema: Schema, key: str, prefix: str, sources: Sources) -> str:
    """How ``key`` can be given, and an env var one typo away if one is set, or why an empty
    secret file does not count."""
    option = schema.options[key]
    ways = [f"set {prefix}{key}", f"add {key} to the config file"]
    if sources.command_line:
        ways.append(f"pass {option.field.flag or option.dest.upper() + ' on the command line'}")
    text = ", ".join(ways[:-1]) + " or " + ways[-1]
    var = f"{prefix}{key}_FILE"
    if sources.variables.get(var) is not None:
        return f"{text} ({var} names an empty file)"
    typos = [v for v in sources.variables if v.startswith(prefix) and v != prefix + key]
    close = _closest(prefix + key, typos, cutoff=0.8)
    return f"{text} ({sources.where(close)} is set: did you mean {prefix}{key}?)" if close else text


def _check_exclusive(schema: Schema, values: Mapping[str, Value]) -> None:
    """Refuse two options of one mutually exclusive group given at once, as argparse does."""
    for keys, _required in schema.exclusive:
        given = [k for k in keys if _given(values[k]) and values[k].value != _default(schema, k)]
        if len(given) > 1:
            sources = " and ".join(values[k].source for k in given)
            flags = ", ".join(schema.options[k].field.flag or k for k in keys)
            raise ConfigError(
                f"{sources}: {' and '.join(given)} exclude each other ({flags} are mutually"
                " exclusive); give only one"
            )


def _default(schema: Schema, key: str) -> Any:
    return schema.options[key].field.default


def _note_collisions(schema: Schema, baseline: flask.Config, resolved: Resolved) -> None:
    for key, option in schema.options.items():
        if key in baseline:
            resolved.notes.append(
                f"option {option.field.flag or option.dest} sets Flask's own setting {key}"
                + (
                    "; flaskd never turns on the debugger under a production server"
                    " (use --dev, or --debug when run as a script)"
                    if key == "DEBUG"
                    else ""
                )
            )
