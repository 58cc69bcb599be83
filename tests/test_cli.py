"""The flaskd command: finding the TARGET, `flaskd config`, and bad input at the command line.

Run in-process (click's CliRunner) where nothing is served; a few run `python -m flaskd` to
prove what a process does: exit code 2 and one line on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FLASKD, free_port, run


def assert_user_error(result, *fragments: str) -> None:
    """Exit 2, one line on stderr containing every fragment, no traceback."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("target", "source"),
    [
        ("opts.py", "default"),
        ("opts", "default"),
        ("opts:service", "default"),
        ("opts:app", "default"),
        ("opts:create_app", "default"),
        ("plain.py", "app"),
        ("factory:make('hey')", None),
    ],
)
def test_target_forms(invoke, target: str, source: str | None) -> None:
    """TARGET may be a file, a module, module:name or module:factory(args), as in flask --app."""
    result = invoke(["config", target, "--json"])
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    if target.startswith("opts"):
        assert data["env_prefix"] == "OPTS_"
        assert data["app"]["WORKERS"] == {"value": 2, "source": source}
    elif target == "plain.py":
        assert data["app"]["GREETING"] == {"value": "hello", "source": "app"}


def test_config_shows_sources_and_masks_secrets(invoke, tmp_path: Path) -> None:
    """flaskd config prints each value with where it came from, and never a secret."""
    token = tmp_path / "token"
    token.write_text("hunter2")
    conf = tmp_path / "opts.toml"
    conf.write_text("workers = 9\n[serve]\nthreads = 3\n")
    env = {"OPTS_API_TOKEN_FILE": str(token), "OPTS_MODE": "fast", "FLASKD_PORT": "6001"}
    result = invoke(["config", "opts.py", "--config", str(conf)], env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "hunter2" not in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["API_TOKEN"].split()[1:] == ["********", "env", "OPTS_API_TOKEN_FILE"]
    assert lines["WORKERS"].split()[1:] == ["9", f"{conf}:1"]
    assert lines["MODE"].split()[1:] == ["'fast'", "env", "OPTS_MODE"]
    assert lines["threads"].split()[1:] == ["3", f"{conf}:3"]
    assert lines["port"].split()[1:] == ["6001", "env", "FLASKD_PORT"]
    assert lines["LEVEL"].split()[1:] == ["'set-by-app'", "app"]


def test_config_points_out_flask_setting_collision(invoke) -> None:
    """flaskd config says when an app option lands on one of Flask's settings."""
    result = invoke(["config", "debug_flag.py"])
    assert "option --debug sets Flask's own setting DEBUG" in result.stdout


@pytest.mark.parametrize(
    ("args", "env", "fragments"),
    [
        (["config", "opts.py"], {"OPTS_WORKERS": "x"}, ["env OPTS_WORKERS", "'x'", "an integer"]),
        (["config", "opts.py"], {"OPTS_MODE": "turbo"}, ["env OPTS_MODE", "one of 'fast', 'safe'"]),
        (["run", "opts.py", "--port", "99999"], {}, ["flag --port", "'99999'", "0 to 65535"]),
        (["run", "opts.py", "--threads", "0"], {}, ["flag --threads", "at least 1"]),
        (
            ["run", "opts.py", "--idle-timeout", "inf"],
            {},
            ["flag --idle-timeout", "'inf'", "finite"],
        ),
        (
            ["run", "opts.py"],
            {"FLASKD_GRACEFUL_TIMEOUT": "nan"},
            ["FLASKD_GRACEFUL_TIMEOUT", "finite"],
        ),
        (["run", "opts.py", "--header-timeout", "0"], {}, ["flag --header-timeout", "above 0"]),
        (["run", "opts.py", "--http2"], {}, ["waitress cannot honour http2", "granian"]),
        (["run", "opts.py", "--server", "tomcat"], {}, ["flag --server", "'tomcat'", "'waitress'"]),
        (
            ["run", "opts.py", "--forwarded-allow-ips", "10.0.0.1", "--forwarded-allow-ips", "x"],
            {},
            ["flag --forwarded-allow-ips", "'10.0.0.1 x'", "or unix", "separated by spaces"],
        ),
        (
            ["run", "opts.py"],
            {"FLASKD_FORWARDED_ALLOW_IPS": "10.0.0.1,10.0.0.2"},
            ["env FLASKD_FORWARDED_ALLOW_IPS", "'10.0.0.1,10.0.0.2'", "separated by spaces"],
        ),
        (
            ["run", "opts.py", "--config", "missing.toml"],
            {},
            ["flag --config", "missing.toml", "not found"],
        ),
        (
            ["run", "opts.py"],
            {"OPTS_CONFIG": "x.ini"},
            ["env OPTS_CONFIG", "neither .toml nor .py"],
        ),
        (
            ["config", "opts.py"],
            {"FLASKD_THREAD": "8"},
            ["env FLASKD_THREAD", "unknown flaskd setting", "did you mean FLASKD_THREADS?"],
        ),
        (
            ["config", "debug_flag.py"],
            {"TESTAPP_PORT": "8111"},
            ["env TESTAPP_PORT", "the app's --port is the serving setting port", "FLASKD_PORT"],
        ),
        (["run", "required.py"], {}, ["NAME is required", "TESTAPP_NAME"]),
        (["run", "required.py"], {"TESTAPP_NAME": "x"}, ["DB is required", "set TESTAPP_DB"]),
        (
            ["run", "broken_import.py"],
            {},
            ["broken_import.py:3", "ModuleNotFoundError", "this_module_does_not_exist"],
        ),
        (["run", "no_app.py"], {}, ["no app found in 'no_app'", "create_app"]),
        (["run", "no_such_file.py"], {}, ["no_such_file"]),
        (["run", "opts:nothing"], {}, ["'opts' has no attribute 'nothing'"]),
        (["run", "opts:KEYS"], {}, ["found a tuple, not a Flask app"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(invoke, args, env, fragments) -> None:
    """Each user mistake gives one line naming what is wrong and where, and exit code 2."""
    assert_user_error(invoke([*args], env=env), *fragments)


@pytest.mark.parametrize(
    ("args", "env", "fragments"),
    [
        (["run", "opts.py"], {"OPTS_MODE": "turbo"}, ["env OPTS_MODE", "one of 'fast', 'safe'"]),
        (["run", "broken_import.py"], {}, ["broken_import.py:3", "ModuleNotFoundError"]),
    ],
)
def test_bad_input_ends_the_process_with_one_line_and_exit_2(args, env, fragments) -> None:
    """As a process, `python -m flaskd` with a mistake exits 2 with one line on stderr (the
    cases above run in-process)."""
    assert_user_error(run([*FLASKD, *args], env=env), *fragments)


def test_bad_toml_at_the_command_line(invoke, tmp_path: Path) -> None:
    """Invalid TOML gives FILE:LINE:COLUMN: and what is wrong, exit 2."""
    conf = tmp_path / "bad.toml"
    conf.write_text("workers = 3\nmode = \n")
    result = invoke(["run", "opts.py", "--config", str(conf)])
    assert_user_error(result, f"{conf}:2:8: invalid TOML: Invalid value")


def test_toml_wrong_type_at_the_command_line(invoke, tmp_path: Path) -> None:
    """A TOML value of the wrong type names file:line and the accepted type."""
    conf = tmp_path / "bad.toml"
    conf.write_text("\nworkers = 'lots'\n")
    result = invoke(["run", "opts.py", "--config", str(conf)])
    assert_user_error(result, f"{conf}:2", "'lots'", "WORKERS", "an integer")


@pytest.mark.parametrize("command", ["run", "dev"])
def test_port_in_use_names_the_address(command: str) -> None:
    """A port already in use is one line that names the address, exit 2 (the dev server
    too, whose own message is two lines and exit 1)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = run([*FLASKD, command, "opts.py", "--port", str(port)])
    assert_user_error(result, f"cannot listen on 127.0.0.1:{port}", "in use")


def test_dev_refuses_public_host(invoke) -> None:
    """flaskd dev refuses a non-loopback host: the debugger must never be public."""
    result = invoke(["dev", "opts.py", "--host", "0.0.0.0", "--port", str(free_port())])
    assert_user_error(result, "dev mode refuses host '0.0.0.0'")


def test_import_time_parse_args_sees_no_flaskd_argv(invoke, tmp_path: Path) -> None:
    """An old script that parses its command line at import sees an empty one, not flaskd's."""
    script = tmp_path / "legacy.py"
    script.write_text(
        "import argparse\nfrom flask import Flask\napp = Flask(__name__)\n"
        "p = argparse.ArgumentParser()\np.add_argument('--db', default='x')\n"
        "args = p.parse_args()\n"
    )
    result = invoke(["config", str(script), "--port", "5555"])
    assert result.returncode == 0, result.stderr


def test_python_m_flaskd() -> None:
    """python -m flaskd is the same command."""
    result = run([*FLASKD, "--help"])
    assert result.returncode == 0
    assert "run" in result.stdout
    assert "config" in result.stdout


def test_app_option_given_to_flaskd_run_says_where_it_goes(invoke) -> None:
    """An app option on `flaskd run`'s command line is one line that says where app options go
    (env vars, --config, or the script itself), with close serving options suggested."""
    result = invoke(["run", "opts.py", "--greeting", "hi"])
    assert_user_error(result, "no such option --greeting", "env vars", "--config FILE")
    result = invoke(["run", "opts.py", "--prot", "5000"])
    assert_user_error(result, "no such option --prot (did you mean", "--port")


def test_help_shows_the_choices_of_a_setting(invoke) -> None:
    """flaskd run --help lists the values --server and --log-level accept."""
    result = invoke(["run", "--help"])
    assert "--server [waitress|gunicorn|granian|dev]" in result.stdout
    assert "--log-level [debug|info|warning|error]" in result.stdout


def test_dev_help_hides_what_the_dev_server_refuses(invoke) -> None:
    """flaskd dev --help leaves out --bind, --workers and --preload, which the dev server
    refuses; given anyway, they still get the dev server's reason, not "no such option"."""
    result = invoke(["dev", "--help"])
    assert "--threads" in result.stdout
    for flag in ("--bind", "--workers", "--preload"):
        assert flag not in result.stdout
    assert "--workers" in invoke(["run", "--help"]).stdout
    result = invoke(["dev", "opts.py", "--workers", "2"])
    assert_user_error(result, "flag --workers: dev cannot honour workers")


def test_env_typo_is_logged_once_at_start(spawn) -> None:
    """An app env var one typo away from an option is named, with the variable meant, once in
    the log when the server starts."""
    port = free_port()
    proc = spawn([*FLASKD, "run", "opts.py", "--port", str(port)], env={"OPTS_WORKER": "3"})
    proc.wait_http(f"http://127.0.0.1:{port}/config")
    warning = "env OPTS_WORKER: unknown key 'WORKER'; did you mean OPTS_WORKERS?"
    assert proc.output.count(warning) == 1
