"""A Service's app configures itself on first use under Flask's own CLI and app contexts."""

from __future__ import annotations

import os
import subprocess

import pytest

from conftest import APPS, BIN, FLASKD, PY, free_port


def run(args: list[str], env: dict[str, str], stdin: str | None = None):
    """Run a command in the test apps' directory, with ``stdin`` as its input."""
    return subprocess.run(
        args,
        cwd=APPS,
        env={**os.environ, **env},
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("command", "stdin"),
    [
        (["show-db"], None),  # a custom @app.cli.command
        (["shell"], 'print(app.extensions["db"])'),
    ],
    ids=["custom command", "flask shell"],
)
def test_flask_cli_sees_the_configured_app(command: list[str], stdin: str | None) -> None:
    """`flask --app` commands get the configuration (env here) and the hooks' work, once."""
    result = run(
        [str(BIN / "flask"), "--app", "cli_app", *command],
        env={"CLIAPP_DB": "env.sqlite"},
        stdin=stdin,
    )
    assert result.returncode == 0, result.stderr
    assert "connected to env.sqlite" in result.stdout
    assert result.stdout.count("startup hook ran") == 1


def test_app_context_and_test_client_see_the_configured_app() -> None:
    """`with app.app_context()` and `app.test_client()` in a program that imports the app
    see it configured, the hooks having run once, even though a hook pushes a context too."""
    script = (
        "from cli_app import app\n"
        "with app.app_context():\n"
        "    print(app.extensions['db'])\n"
        "print(app.test_client().get('/').text)\n"
    )
    result = run([PY, "-c", script], env={"CLIAPP_DB": "env.sqlite"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "startup hook ran",
        "connected to env.sqlite",
        "connected to env.sqlite",
    ]


@pytest.mark.parametrize("mode", ["script", "flaskd run"])
def test_import_time_app_context_does_not_start_early(spawn, mode: str) -> None:
    """An app context pushed while the module loads does not start the service with a partial
    configuration: the hooks see the command line's value, and run once."""
    port = free_port()
    if mode == "script":
        args = [PY, "cli_app.py", "--db", "given.sqlite", "--port", str(port)]
        env = {}
    else:
        args = [*FLASKD, "run", "cli_app.py", "--port", str(port)]
        env = {"CLIAPP_DB": "given.sqlite"}
    proc = spawn(args, env=env)
    assert proc.wait_http(f"http://127.0.0.1:{port}/").text == "connected to given.sqlite"
    assert proc.output.count("startup hook ran") == 1
