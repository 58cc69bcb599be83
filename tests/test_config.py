"""Configuration: one test per precedence step, conversion from each source, and provenance."""

from __future__ import annotations

import argparse
from pathlib import Path

import flask
import pytest

from flaskd import ConfigError, Service
from flaskd._config import Sources


def make_service(**kw: object) -> Service:
    app = flask.Flask("prec")
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="parser.sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--tag", action="append", default=[])
    parser.add_argument("--mode", choices=["fast", "safe"], default="safe")
    parser.add_argument("--api-token")
    return Service(app, parser, env_prefix="PREC_", **kw)  # type: ignore[arg-type]


def resolve(service: Service, env: dict[str, str] | None = None, **kw: object):
    return service.resolve(Sources(env or {}, **kw))  # type: ignore[arg-type]


def test_parser_default_is_the_lowest_source() -> None:
    """With nothing else given, each key has its parser default, typed."""
    r = resolve(make_service())
    assert r.app["DB"].value == "parser.sqlite"
    assert r.app["WORKERS"].value == 2
    assert r.app["VERBOSE"].value is False
    assert r.app["DB"].source == "default"


def test_app_config_beats_parser_default() -> None:
    """A value the app put in app.config itself wins over the parser default."""
    service = make_service()
    service.app.config["DB"] = "app.sqlite"
    r = resolve(service)
    assert (r.app["DB"].value, r.app["DB"].source) == ("app.sqlite", "app")


def test_flask_defaults_do_not_count_as_set_by_the_app() -> None:
    """Flask's built-in defaults (DEBUG, SECRET_KEY...) are not reported as set by the app."""
    r = resolve(make_service())
    assert "SECRET_KEY" not in r.app
    assert "DEBUG" not in r.app


def test_toml_file_beats_app_config(tmp_path: Path) -> None:
    """A TOML config file beats the app's own values and names its file:line."""
    service = make_service()
    service.app.config["DB"] = "app.sqlite"
    file = tmp_path / "prod.toml"
    file.write_text('# production\ndb = "file.sqlite"\nworkers = 8\n\n[serve]\nport = 6000\n')
    r = resolve(service, {"PREC_CONFIG": str(file)})
    assert (r.app["DB"].value, r.app["DB"].source) == ("file.sqlite", f"{file}:2")
    assert r.app["WORKERS"].value == 8
    assert (r.serve["port"].value, r.serve["port"].source) == (6000, f"{file}:6")


def test_py_file_is_loaded_like_flask_from_pyfile(tmp_path: Path) -> None:
    """A .py config file sets its uppercase names, with their line numbers."""
    file = tmp_path / "settings.py"
    file.write_text("import os\n\nDB = 'py.sqlite'\nlowercase = 'ignored'\n")
    r = resolve(make_service(), {"PREC_CONFIG": str(file)})
    assert (r.app["DB"].value, r.app["DB"].source) == ("py.sqlite", f"{file}:3")
    assert "LOWERCASE" not in r.app


def test_credentials_directory_beats_file(tmp_path: Path) -> None:
    """systemd's $CREDENTIALS_DIRECTORY/<key> beats the config file, and is secret."""
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "api_token").write_text("from-systemd\n")
    file = tmp_path / "c.toml"
    file.write_text('api_token = "from-file"\n')
    env = {"PREC_CONFIG": str(file), "CREDENTIALS_DIRECTORY": str(creds)}
    r = resolve(make_service(), env)
    assert r.app["API_TOKEN"].value == "from-systemd"
    assert r.app["API_TOKEN"].source == "credential api_token"
    assert r.app["API_TOKEN"].shown() == "********"


def test_env_beats_file(tmp_path: Path) -> None:
    """<PREFIX><KEY> beats the config file and is converted with the option's type."""
    file = tmp_path / "c.toml"
    file.write_text("workers = 8\n")
    r = resolve(make_service(), {"PREC_CONFIG": str(file), "PREC_WORKERS": "16"})
    assert (r.app["WORKERS"].value, r.app["WORKERS"].source) == (16, "env PREC_WORKERS")


def test_env_file_secret(tmp_path: Path) -> None:
    """<PREFIX><KEY>_FILE reads the value from a file, without its trailing newline."""
    secret = tmp_path / "token"
    secret.write_text("s3cr3t\n")
    r = resolve(make_service(), {"PREC_API_TOKEN_FILE": str(secret)})
    assert r.app["API_TOKEN"].value == "s3cr3t"
    assert r.app["API_TOKEN"].secret


def test_flag_beats_env() -> None:
    """In standalone mode a flag given on the command line beats the env var."""
    from flaskd._standalone import parse_command_line

    service = make_service()
    sources, dev = parse_command_line(service, ["--workers", "32"])
    sources = Sources({"PREC_WORKERS": "16"}, sources.app_flags, sources.serve_flags)
    r = service.resolve(sources)
    assert (r.app["WORKERS"].value, r.app["WORKERS"].source) == (32, "flag --workers")
    assert dev is False


def test_flag_not_given_does_not_hide_env() -> None:
    """A parser default never counts as a flag, so it cannot hide an env var."""
    from flaskd._standalone import parse_command_line

    service = make_service()
    sources, _ = parse_command_line(service, [])
    assert sources.app_flags == {}


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", True), ("yes", True), ("On", True), ("true", True), ("0", False), ("off", False)],
)
def test_env_booleans(text: str, value: bool) -> None:
    """A store_true option accepts true/false, 1/0, yes/no and on/off from env."""
    assert resolve(make_service(), {"PREC_VERBOSE": text}).app["VERBOSE"].value is value


def test_env_list_is_split_like_a_command_line() -> None:
    """An append option reads several values from one env var, split like shell words."""
    r = resolve(make_service(), {"PREC_TAG": "a 'b c'"})
    assert r.app["TAG"].value == ["a", "b c"]


def test_env_for_key_the_app_set_is_typed_like_its_value() -> None:
    """An env var for a key the app set itself converts to that value's type."""
    service = make_service()
    service.app.config["RETRIES"] = 3
    service.app.config["FLAGS"] = {"a": 1}
    r = resolve(service, {"PREC_RETRIES": "5", "PREC_FLAGS": '{"b": 2}'})
    assert r.app["RETRIES"].value == 5
    assert r.app["FLAGS"].value == {"b": 2}


def test_env_for_flask_setting() -> None:
    """An env var can set one of Flask's own settings, typed like its default."""
    r = resolve(make_service(), {"PREC_SESSION_COOKIE_SECURE": "yes"})
    assert r.app["SESSION_COOKIE_SECURE"].value is True


def test_serve_settings_precedence(tmp_path: Path) -> None:
    """Serving settings: declared default, app's serve=, [serve] table, FLASKD_ env, flag."""
    file = tmp_path / "c.toml"
    file.write_text("[serve]\nthreads = 6\nport = 7000\nhost = '::1'\n")
    service = make_service(serve={"port": 5300, "threads": 5, "host": "127.0.0.2"})
    r = resolve(
        service,
        {"PREC_CONFIG": str(file), "FLASKD_PORT": "7001", "FLASKD_HOST": "127.0.0.3"},
        serve_flags={"host": ("127.0.0.4", "flag --host")},
    )
    assert r.serve["log_level"].source == "default"
    assert r.serve["threads"].value == 6
    assert r.serve["port"].value == 7001
    assert (r.serve["host"].value, r.serve["host"].source) == ("127.0.0.4", "flag --host")


def test_unknown_file_keys_warn_with_suggestion(tmp_path: Path) -> None:
    """A config file key nobody declared is kept but warned about, with a close match (an
    extension may read it); in [serve], flaskd's own table, it is an error, as an unknown
    FLASKD_* variable is."""
    file = tmp_path / "c.toml"
    file.write_text('dbb = "x"\n')
    r = resolve(make_service(), {"PREC_CONFIG": str(file)})
    assert r.app["DBB"].value == "x"
    assert any("unknown key 'DBB'" in w and "'DB'" in w for w in r.warnings)
    file.write_text("[serve]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"unknown key 'prot' in \[serve\]; did you mean 'port'"):
        resolve(make_service(), {"PREC_CONFIG": str(file)})


def address_service() -> Service:
    """An app whose parser has --port: that option is the serving port."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5300)
    return Service(flask.Flask("addr"), parser, env_prefix="ADDR_")


@pytest.mark.parametrize(
    ("var", "hint"),
    [
        ("FLASKD_THREAD", "unknown flaskd setting; did you mean FLASKD_THREADS?"),
        ("FLASKD_PORT_FILE", "did you mean FLASKD_PORT?"),
        ("FLASKD_CONFIG", "name the config file with PREC_CONFIG or --config"),
        ("FLASKD_XYZZY", "flaskd reads FLASKD_HOST, FLASKD_PORT, FLASKD_BIND, "),
    ],
)
def test_unknown_flaskd_env_var_is_an_error(var: str, hint: str) -> None:
    """FLASKD_ is flaskd's namespace: a variable there that no setting reads is an error
    naming it and the closest setting, not silently ignored."""
    with pytest.raises(ConfigError) as info:
        resolve(make_service(), {var: "8"})
    message = info.value.format_message()
    assert message.startswith(f"env {var}: ")
    assert hint in message
    assert "\n" not in message


def test_env_typo_of_a_known_key_warns() -> None:
    """A <PREFIX> env var one typo away from a known key is kept, as Flask's from_prefixed_env
    would, but warned about with the variable meant; a key far from any (an extension's) is not."""
    env = {"PREC_TAGS": "x", "PREC_API_TOKN_FILE": "/dev/null", "PREC_MAIL_SERVER": "smtp"}
    r = resolve(make_service(), env)
    assert r.app["TAGS"].value == "x"
    assert r.app["MAIL_SERVER"].value == "smtp"
    assert r.warnings == [
        "env PREC_API_TOKN_FILE: unknown key 'API_TOKN'; did you mean PREC_API_TOKEN_FILE?",
        "env PREC_TAGS: unknown key 'TAGS'; did you mean PREC_TAG?",
    ]


def test_app_env_var_named_like_a_serving_setting_warns(tmp_path: Path) -> None:
    """<PREFIX>PORT or a top-level port in the file, for an app without such an option, is kept
    but said to be a serving setting, with where it goes."""
    file = tmp_path / "c.toml"
    file.write_text("port = 8113\n")
    r = resolve(make_service(), {"PREC_CONFIG": str(file), "PREC_THREADS": "8"})
    assert r.serve["port"].value == 5000
    assert r.serve["threads"].value == 4
    assert r.warnings == [
        f"{file}:1: unknown key 'PORT': port is a serving setting: put it under [serve]",
        "env PREC_THREADS: unknown key 'THREADS': threads is a serving setting: set FLASKD_THREADS",
    ]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("env", "", "env ADDR_PORT: the app's --port is the serving setting port, which is not"
         " read from here: set FLASKD_PORT"),
        ("c.toml", "port = 8113\n", ":1: the app's --port is the serving setting port, which is"
         " not read from here: put it under [serve]"),
        ("c.py", "PORT = 8113\n", ":1: the app's --port is the serving setting port, which is"
         " not read from here: set FLASKD_PORT"),
    ],
)  # fmt: skip
def test_apps_own_port_from_env_or_file_is_an_error(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    """The app's own --port is the serving port: <PREFIX>PORT or a top-level port, which would
    be dropped, is an error pointing to FLASKD_PORT or [serve]."""
    env = {"ADDR_PORT": "8111"}
    if text:
        file = tmp_path / name
        file.write_text(text)
        env = {"ADDR_CONFIG": str(file)}
        message = f"{file}{message}"
    with pytest.raises(ConfigError) as info:
        address_service().resolve(Sources(env))
    assert info.value.format_message() == message
    assert address_service().resolve(Sources({"FLASKD_PORT": "8111"})).app["PORT"].value == 8111


def test_url_password_is_masked() -> None:
    """A password inside a URL value is masked when shown."""
    r = resolve(make_service(), {"PREC_DB": "postgres://app:hunter2@db/notes"})
    assert "hunter2" not in r.app["DB"].shown()
    assert "hunter2" not in str(r.app["DB"].public())


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"PREC_WORKERS": "many"},
            "env PREC_WORKERS: invalid value 'many' for WORKERS: expected an integer",
        ),
        (
            {"PREC_MODE": "turbo"},
            "env PREC_MODE: invalid value 'turbo' for MODE: expected one of 'fast', 'safe'",
        ),
        (
            {"PREC_VERBOSE": "maybe"},
            "env PREC_VERBOSE: invalid value 'maybe' for VERBOSE: expected",
        ),
        (
            {"FLASKD_PORT": "http"},
            "env FLASKD_PORT: invalid value 'http' for port: expected a port number",
        ),
        (
            {"FLASKD_SERVER": "tomcat"},
            "env FLASKD_SERVER: invalid value 'tomcat' for server: expected one of 'waitress'",
        ),
        (
            {"PREC_CONFIG": "/nonexistent/c.toml"},
            "env PREC_CONFIG: config file '/nonexistent/c.toml' not found",
        ),
    ],
)
def test_bad_env_values_name_key_source_and_accepted(env: dict[str, str], message: str) -> None:
    """A bad env value raises one message naming the variable, the value and what is accepted."""
    with pytest.raises(ConfigError) as info:
        resolve(make_service(), env)
    assert info.value.format_message().startswith(message)
    assert "\n" not in info.value.format_message()


def test_bad_secret_value_is_not_shown() -> None:
    """A bad value for a secret key is masked in the error message."""
    app = flask.Flask("sec")
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret-port", type=int)
    service = Service(app, parser, env_prefix="SEC_")
    with pytest.raises(ConfigError) as info:
        service.resolve(Sources({"SEC_SECRET_PORT": "hunter2"}))
    assert "hunter2" not in info.value.format_message()


def test_bad_toml_value_names_file_and_line(tmp_path: Path) -> None:
    """A wrong type in TOML names the file and line."""
    file = tmp_path / "c.toml"
    file.write_text('db = "x"\nworkers = "eight"\n')
    with pytest.raises(ConfigError, match=rf"^{file}:2: invalid value 'eight' for WORKERS"):
        resolve(make_service(), {"PREC_CONFIG": str(file)})


def test_toml_bool_is_not_an_integer(tmp_path: Path) -> None:
    """TOML true for an integer option is an error, not 1."""
    file = tmp_path / "c.toml"
    file.write_text("workers = true\n")
    with pytest.raises(ConfigError, match="expected an integer"):
        resolve(make_service(), {"PREC_CONFIG": str(file)})


def test_invalid_toml_names_its_line(tmp_path: Path) -> None:
    """A TOML syntax error is FILE:LINE:COLUMN: and tomllib's message, like a compiler's."""
    file = tmp_path / "c.toml"
    file.write_text('db = "x"\nworkers = = 3\n')
    with pytest.raises(ConfigError) as info:
        resolve(make_service(), {"PREC_CONFIG": str(file)})
    assert info.value.format_message() == f"{file}:2:11: invalid TOML: Invalid value"


def test_file_and_env_for_same_secret_is_an_error(tmp_path: Path) -> None:
    """Setting both <KEY> and <KEY>_FILE is refused rather than silently picking one."""
    secret = tmp_path / "t"
    secret.write_text("x")
    env = {"PREC_API_TOKEN": "y", "PREC_API_TOKEN_FILE": str(secret)}
    with pytest.raises(ConfigError, match="PREC_API_TOKEN is set too"):
        resolve(make_service(), env)


def test_missing_secret_file() -> None:
    """A _FILE env var naming a missing file says which file."""
    with pytest.raises(ConfigError, match=r"env PREC_API_TOKEN_FILE: cannot read '/nope/t'"):
        resolve(make_service(), {"PREC_API_TOKEN_FILE": "/nope/t"})


def test_required_option_missing_says_which_env_var() -> None:
    """A required option with no value names the env var that would give it."""
    app = flask.Flask("req")
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    service = Service(app, parser, env_prefix="REQ_")
    with pytest.raises(
        ConfigError, match="DB is required: set REQ_DB or add DB to the config file"
    ):
        service.resolve(Sources({}))
    assert service.resolve(Sources({"REQ_DB": "x"})).app["DB"].value == "x"


def test_debug_option_noted_as_flask_setting() -> None:
    """An app option landing on Flask's DEBUG is pointed out."""
    app = flask.Flask("dbg")
    parser = argparse.ArgumentParser()
    parser.add_argument("--debug", action="store_true")
    r = Service(app, parser, env_prefix="DBG_").resolve(Sources({}))
    assert any("Flask's own setting DEBUG" in note for note in r.notes)


def test_env_prefix_derived_from_module_file() -> None:
    """Without env_prefix, the prefix comes from the app module's file name."""
    import opts  # tests/apps is on sys.path (see pytest config)

    assert Service(flask.Flask(opts.__name__)).env_prefix == "OPTS_"


def test_serve_defaults_are_checked() -> None:
    """An unknown serving default is a programming error raised at once."""
    with pytest.raises(ValueError, match="unknown serving settings"):
        Service(flask.Flask("x"), serve={"prot": 1})


def test_apps_own_port_under_another_name_from_env_is_an_error() -> None:
    """An app whose port option keeps another name (--listen-port, with a --port alias):
    <PREFIX>LISTEN_PORT is the name its user knows, and would be dropped too."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen-port", "--port", type=int, default=5300)
    service = Service(flask.Flask("addr"), parser, env_prefix="ADDR_")
    with pytest.raises(ConfigError) as info:
        service.resolve(Sources({"ADDR_LISTEN_PORT": "8111"}))
    assert info.value.format_message() == (
        "env ADDR_LISTEN_PORT: the app's --listen-port is the serving setting port,"
        " which is not read from here: set FLASKD_PORT"
    )
