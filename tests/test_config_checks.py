"""What `flaskd config` and the sources check: required values, exclusive options, empty
secrets, well-known variables, and options that belong elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import APPS, PY, free_port
from flaskd.cli import cli


@pytest.fixture(autouse=True)
def in_apps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the test apps' directory, without the apps' own env vars."""
    monkeypatch.chdir(APPS)
    for name in ("EXCL_SQLITE", "EXCL_POSTGRES", "EXCL_API_TOKEN", "SERVER_NAME"):
        monkeypatch.delenv(name, raising=False)


def flaskd(*args: str, **env: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def test_config_shows_the_table_then_fails_for_a_missing_required_value() -> None:
    """`flaskd config` prints what it resolved with the missing key marked, then exits 2
    with the same error as `flaskd run` (it used to print only the error)."""
    result = flaskd("config", "exclusive.py", EXCL_SQLITE="a.sqlite")
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert "  SQLITE     'a.sqlite'  env EXCL_SQLITE" in lines
    assert any(line.split()[:2] == ["API_TOKEN", "MISSING"] for line in lines)
    assert lines[-1] == (
        "Error: API_TOKEN is required: set EXCL_API_TOKEN or add API_TOKEN to the config file"
    )


def test_required_value_error_suggests_a_misspelt_env_var() -> None:
    """A required key's error names the env var one typo away that is set instead."""
    result = flaskd("config", "exclusive.py", EXCL_SQLITE="a", EXCL_API_TOKN="t")
    assert result.exit_code == 2
    assert "(env EXCL_API_TOKN is set: did you mean EXCL_API_TOKEN?)" in result.output


def test_empty_secret_file_is_not_a_value(tmp_path: Path) -> None:
    """An empty _FILE secret does not satisfy `required`, and is shown empty, not masked."""
    empty = tmp_path / "token"
    empty.write_text("")
    result = flaskd("config", "exclusive.py", EXCL_SQLITE="a", EXCL_API_TOKEN_FILE=str(empty))
    assert result.exit_code == 2
    assert "********" not in result.output
    assert "(EXCL_API_TOKEN_FILE names an empty file)" in result.output.splitlines()[-1]


def test_exclusive_options_from_env_are_refused_together() -> None:
    """Two options of one mutually exclusive group set from env: exit 2, as argparse would."""
    result = flaskd(
        "config", "exclusive.py", EXCL_SQLITE="a", EXCL_POSTGRES="pg://x", EXCL_API_TOKEN="t"
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: env EXCL_SQLITE and env EXCL_POSTGRES: SQLITE and POSTGRES exclude each other"
        " (--sqlite, --postgres are mutually exclusive); give only one"
    )


def test_required_exclusive_group_needs_one_of_its_options() -> None:
    """A required mutually exclusive group with none of its options set: exit 2."""
    result = flaskd("config", "exclusive.py", EXCL_API_TOKEN="t")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1].startswith(
        "Error: SQLITE or POSTGRES is required (one of them): set EXCL_SQLITE"
    )


def test_env_var_satisfies_a_required_group_in_a_script(spawn) -> None:
    """As a script, an env var satisfies a required exclusive group (argparse alone refused
    the command line before env and config file were read)."""
    port = free_port()
    proc = spawn(
        [PY, "exclusive.py", "--port", str(port)],
        env={"EXCL_POSTGRES": "pg://db", "EXCL_API_TOKEN": "t"},
    )
    assert proc.wait_http(f"http://127.0.0.1:{port}/").text == "pg://db"


def test_generic_prefix_does_not_capture_well_known_variables() -> None:
    """server.py's prefix SERVER_ does not turn SERVER_NAME (Flask's own setting, commonly
    exported) into an app key NAME: it is skipped, with a warning saying why."""
    result = flaskd("config", "server.py", SERVER_NAME="example.com")
    assert result.exit_code == 0, result.output
    assert "NAME" not in [line.split()[0] for line in result.output.splitlines() if line]
    assert "env SERVER_NAME not read as the app key 'NAME'" in result.output


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("run", "`flaskd run` serves in production, with no reloader or debugger;"),
        ("dev", "`flaskd dev` always runs Flask's reloader and debugger"),
    ],
)
def test_reload_says_where_it_belongs(command: str, said: str) -> None:
    """`--reload` (from `flask run` habits) says what to use, not did-you-mean --no-preload."""
    result = flaskd(command, "hooks.py", "--reload")
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: no such option --reload: {said}" + (
        " for development use `flaskd dev TARGET`" if command == "run" else ""
    )


def test_script_help_names_each_app_options_env_var() -> None:
    """A script's --help names the env var of each app option, as it does for serving ones."""
    import subprocess

    result = subprocess.run(
        [PY, "exclusive.py", "--help"], cwd=APPS, capture_output=True, text=True, check=True
    )
    assert "a SQLite file [env EXCL_SQLITE]" in result.stdout
    assert "[env EXCL_API_TOKEN]" in result.stdout
