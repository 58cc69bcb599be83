"""An app run as a script with service.main(): its flags, the serving flags, dev mode."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from conftest import FLASKD, PY, free_port, run


def test_help_shows_app_and_serving_options() -> None:
    """--help lists the app's own options and flaskd's serving options."""
    result = run([PY, "opts.py", "--help"])
    assert result.returncode == 0
    for flag in ("--workers", "--mode", "--host", "--port", "--threads", "--config", "--dev"):
        assert flag in result.stdout
    assert "FLASKD_PORT" in result.stdout
    assert "OPTS_CONFIG" in result.stdout


def test_help_shows_choices_and_the_scripts_own_defaults(tmp_path: Path) -> None:
    """--help of a script shows what --server accepts and the defaults it will run with:
    its own serve defaults (Service(serve=...)) where it gives some, flaskd's otherwise."""
    script = tmp_path / "tuned.py"
    script.write_text(
        "import flask\nfrom flaskd import Service\n"
        "service = Service(flask.Flask(__name__), serve={'port': 8080, 'access_log': True})\n"
        "service.main()\n"
    )
    out = " ".join(run([PY, str(script), "--help"]).stdout.split())  # argparse wraps lines
    assert "--server {waitress,gunicorn,granian,dev}" in out
    assert "[env FLASKD_PORT; default 8080]" in out
    assert "[env FLASKD_ACCESS_LOG; default on]" in out
    assert "[env FLASKD_THREADS; default 4]" in out


def test_flags_beat_env_and_are_typed(spawn) -> None:
    """Flags are converted by the parser and beat env vars; unset options keep env values."""
    port = free_port()
    args = [
        PY,
        "opts.py",
        "--workers",
        "7",
        "--tag",
        "a",
        "--tag",
        "b",
        "--no-cache",
        "--port",
        str(port),
    ]
    proc = spawn(args, env={"OPTS_WORKERS": "3", "OPTS_MODE": "fast", "OPTS_PAIR": "4 5"})
    config = proc.wait_http(f"http://127.0.0.1:{port}/config").json()
    assert config["WORKERS"] == 7
    assert config["TAG"] == ["a", "b"]
    assert config["CACHE"] is False
    assert config["MODE"] == "fast"
    assert config["PAIR"] == [4, 5]
    assert config["LEVEL"] == "set-by-app"
    assert proc.stop() == 0


def test_bad_flag_is_argparse_error() -> None:
    """A bad value for an app flag is argparse's one-line error, exit 2."""
    result = run([PY, "opts.py", "--workers", "many"])
    assert result.returncode == 2
    assert "argument --workers: invalid int value: 'many'" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_serving_flag_in_script() -> None:
    """A bad serving flag in a script names the flag and what is accepted, exit 2."""
    result = run([PY, "opts.py", "--port", "http"])
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "opts.py: error: flag --port: invalid value 'http' for port:"
        " expected a port number from 0 to 65535"
    )


def test_required_positional_missing_in_script() -> None:
    """A missing positional says it may come from env or the command line."""
    result = run([PY, "required.py", "--db", "x"])
    assert result.returncode == 2
    assert "NAME is required: set TESTAPP_NAME" in result.stderr
    assert "pass NAME on the command line" in result.stderr


def test_required_satisfied_from_env_in_script(spawn) -> None:
    """A required option given by env is enough for a script too."""
    port = free_port()
    proc = spawn([PY, "required.py", "world", "--port", str(port)], env={"TESTAPP_DB": "x.db"})
    assert proc.wait_http(f"http://127.0.0.1:{port}/").text == "hello world from x.db"


def test_apps_own_port_flag_is_the_serving_address(spawn) -> None:
    """A script that defines --host/--port itself is served on that address."""
    port = free_port()
    proc = spawn([PY, "debug_flag.py", "--port", str(port)])
    body = proc.wait_http(f"http://127.0.0.1:{port}/").json()
    assert body == {"debug": False, "port": port}


def test_apps_own_port_default_is_the_serving_default() -> None:
    """The default of the app's --port option is the serving default, with its source."""
    result = run([*FLASKD, "config", "debug_flag.py", "--json"])
    import json

    serve = json.loads(result.stdout)["serve"]
    assert serve["port"] == {"value": 5123, "source": "default of --port"}


def test_scripts_debug_flag_means_dev_mode(spawn) -> None:
    """A script's own --debug flag runs Flask's dev server with the debugger."""
    port = free_port()
    proc = spawn([PY, "debug_flag.py", "--debug", "--port", str(port)])
    response = proc.wait_http(f"http://127.0.0.1:{port}/")
    assert response.json()["debug"] is True
    assert response.headers["Server"].startswith("Werkzeug")


def test_scripts_debug_flag_refused_on_public_host() -> None:
    """--debug with a non-loopback host is refused: the debugger must not be public."""
    result = run([PY, "debug_flag.py", "--debug", "--host", "0.0.0.0", "--port", str(free_port())])
    assert result.returncode == 2
    assert "dev mode refuses host '0.0.0.0'" in result.stderr


@pytest.mark.parametrize("command", [[*FLASKD, "run", "debug_flag.py"], [PY, "debug_flag.py"]])
def test_debug_from_env_never_turns_on_debug_in_production(spawn, command) -> None:
    """DEBUG given by env lands on Flask's setting but is turned off under a production server."""
    port = free_port()
    proc = spawn([*command, "--port", str(port)], env={"TESTAPP_DEBUG": "1"})
    response = proc.wait_http(f"http://127.0.0.1:{port}/")
    assert response.json()["debug"] is False
    assert response.headers["Server"] == "waitress"
    assert "DEBUG is on from env TESTAPP_DEBUG; ignored outside dev mode" in proc.output


def test_dev_flag_serves_with_reloader(spawn) -> None:
    """--dev serves with Flask's dev server and runs the start-up hooks in the serving process;
    production tuning it has no use for is named in a warning, not silently dropped."""
    port = free_port()
    proc = spawn([PY, "opts.py", "--dev", "--port", str(port)], env={"FLASKD_THREADS": "8"})
    response = proc.wait_http(f"http://127.0.0.1:{port}/runs")
    assert response.headers["Server"].startswith("Werkzeug")
    assert response.json() == 1
    assert requests.get(f"http://127.0.0.1:{port}/config", timeout=5).status_code == 200
    assert "the dev server ignores threads (from env FLASKD_THREADS)" in proc.output
