"""Platform conventions: PORT, env files (.flaskenv and .env in dev), `flaskd health`."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import APPS, FLASKD, PY, free_port, run
from flaskd.cli import cli


@pytest.fixture(autouse=True)
def in_apps(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run from the test apps' directory, without PORT or the app's own env vars; what an
    env file exported in this process (flaskd run in-process) is gone after the test."""
    monkeypatch.chdir(APPS)
    for name in ("PORT", "CLIAPP_DB"):
        monkeypatch.delenv(name, raising=False)
    before = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(before)


def flaskd(*args: str, **env: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def shown(result: Result, key: str) -> list[str]:
    """The words of the `flaskd config` table's row for ``key``."""
    rows = [line.split() for line in result.output.splitlines()]
    return next(row for row in rows if row and row[0] == key)


def test_port_sets_the_port_only() -> None:
    """PORT (Heroku, Cloud Run) sets the port and never the host, shown as `env PORT`."""
    result = flaskd("config", "cli_app.py", PORT="8123")
    assert result.exit_code == 0, result.output
    assert shown(result, "port") == ["port", "8123", "env", "PORT"]
    assert shown(result, "host") == ["host", "'127.0.0.1'", "default"]


@pytest.mark.parametrize(
    ("args", "env", "winner"),
    [
        ([], {"FLASKD_PORT": "8200"}, ["8200", "env", "FLASKD_PORT"]),
        (["--port", "8300"], {}, ["8300", "flag", "--port"]),
        (["--config", "{toml}"], {}, ["8400", "{toml}:2"]),
    ],
    ids=["FLASKD_PORT", "flag", "[serve] port"],
)
def test_port_ranks_below_flaskd_settings(tmp_path: Path, args, env, winner) -> None:
    """PORT is below FLASKD_PORT, a `[serve] port` in the config file and --port."""
    toml = tmp_path / "c.toml"
    toml.write_text("[serve]\nport = 8400\n")
    args = [a.replace("{toml}", str(toml)) for a in args]
    winner = [w.replace("{toml}", str(toml)) for w in winner]
    result = flaskd("config", "cli_app.py", *args, PORT="8123", **env)
    assert result.exit_code == 0, result.output
    assert shown(result, "port")[1:] == winner


def test_port_serves(spawn) -> None:
    """`flaskd run` listens on PORT."""
    port = free_port()
    proc = spawn([*FLASKD, "run", "cli_app.py"], env={"PORT": str(port)})
    assert proc.wait_http(f"http://127.0.0.1:{port}/").text == "connected to default.sqlite"


def test_env_files_rank_below_the_environment(tmp_path: Path) -> None:
    """--env-file values are named by FILE:LINE; a later file wins over an earlier one, and
    the real environment over both."""
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    first.write_text("# base\nCLIAPP_DB=a.sqlite\nPORT=8001\n")
    second.write_text("CLIAPP_DB=b.sqlite\n")
    result = flaskd("config", "cli_app.py", "--env-file", str(first), "--env-file", str(second))
    assert result.exit_code == 0, result.output
    assert shown(result, "DB") == ["DB", "'b.sqlite'", "--env-file", f"{second}:1:", "CLIAPP_DB"]
    assert shown(result, "port") == ["port", "8001", "--env-file", f"{first}:3:", "PORT"]
    real = flaskd("config", "cli_app.py", "--env-file", str(first), CLIAPP_DB="real.sqlite")
    assert shown(real, "DB") == ["DB", "'real.sqlite'", "env", "CLIAPP_DB"]


def test_env_file_errors_name_the_line(tmp_path: Path) -> None:
    """A line systemd would read otherwise, or a bad value from the file: FILE:LINE, exit 2."""
    bad = tmp_path / "bad.env"
    bad.write_text("CLIAPP_DB=x\nexport PORT=1\n")
    result = flaskd("run", "cli_app.py", "--env-file", str(bad))
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: --env-file {bad}:2: systemd ignores an export line")
    bad.write_text("PORT=eighty\n")
    result = flaskd("config", "cli_app.py", "--env-file", str(bad))
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"Error: --env-file {bad}:1: PORT: invalid value 'eighty' for port:"
        " expected a port number from 0 to 65535"
    )


@pytest.mark.parametrize("mode", ["script", "flaskd run"])
def test_env_file_reaches_the_app(spawn, tmp_path: Path, mode: str) -> None:
    """An env file's values configure the app, as a script and under `flaskd run`."""
    env_file = tmp_path / "prod.env"
    env_file.write_text("CLIAPP_DB=from-file.sqlite\n")
    port = free_port()
    start = [PY, "cli_app.py"] if mode == "script" else [*FLASKD, "run", "cli_app.py"]
    proc = spawn([*start, "--env-file", str(env_file), "--port", str(port)])
    assert proc.wait_http(f"http://127.0.0.1:{port}/").text == "connected to from-file.sqlite"


def test_dev_reads_flaskenv_and_dotenv_and_run_does_not(spawn, tmp_path: Path) -> None:
    """`flaskd dev` reads .flaskenv and .env from the working directory (.env winning), as
    `flask run` does; `flaskd run` reads only the env files it is given."""
    (tmp_path / ".flaskenv").write_text("CLIAPP_DB=flaskenv.sqlite\nPORT=1\n")
    (tmp_path / ".env").write_text("CLIAPP_DB=dotenv.sqlite\n")
    target = str(APPS / "cli_app.py")
    dev_port, run_port = free_port(), free_port()
    dev = spawn([*FLASKD, "dev", target, "--port", str(dev_port)], cwd=tmp_path)
    assert dev.wait_http(f"http://127.0.0.1:{dev_port}/").text == "connected to dotenv.sqlite"
    prod = spawn([*FLASKD, "run", target, "--port", str(run_port)], cwd=tmp_path)
    assert prod.wait_http(f"http://127.0.0.1:{run_port}/").text == "connected to default.sqlite"


def test_health_exit_codes(spawn, tmp_path: Path) -> None:
    """`flaskd health URL`: exit 0 and one line on 200; exit 1 and one line on any other
    answer, no answer in time, or nothing listening; exit 2 for a URL that is not http."""
    port = free_port()
    proc = spawn([*FLASKD, "run", "hooks.py", "--port", str(port)], env={"HOOKS_LOG": "/dev/null"})
    base = f"http://127.0.0.1:{port}"
    proc.wait_http(base)
    cases = [
        ([f"{base}/"], 0, f"healthy: {base}/: 200"),
        ([f"{base}/nope"], 1, f"unhealthy: {base}/nope: 404"),
        (
            [f"{base}/slow", "--timeout", "0.2"],
            1,
            f"unhealthy: {base}/slow: no answer within 0.2 s",
        ),
        ([f"http://127.0.0.1:{free_port()}/"], 1, "Connection refused"),
        (["file:///etc/passwd"], 2, "Error: URL 'file:///etc/passwd': expected http://"),
    ]
    for args, code, line in cases:
        result = run([*FLASKD, "health", *args])
        output = (result.stdout + result.stderr).strip()
        assert (result.returncode, len(output.splitlines())) == (code, 1), output
        assert line in output


#: Runs flaskd with what Windows lacks taken away: the POSIX-only signals, and waitress as
#: imported on Windows (without ``wasyncore.file_dispatcher``; its loop woken by sockets).
WITHOUT_POSIX = """
import os, runpy, signal, sys
os.name = "nt"
import waitress, waitress.trigger
os.name = "posix"
assert not hasattr(waitress.wasyncore, "file_dispatcher")
for name in ("SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGTTIN", "SIGTTOU", "SIGWINCH"):
    delattr(signal, name)
del os.fork
sys.argv[0] = "flaskd"
runpy.run_module("flaskd", run_name="__main__", alter_sys=True)
"""


def test_waitress_serves_and_stops_without_what_only_posix_has(spawn, tmp_path: Path) -> None:
    """The waitress backend starts, serves, and stops gracefully on Ctrl-C (SIGINT) with the
    POSIX-only signals and waitress's pipe dispatcher gone. A stand-in for Windows, which
    cannot run here: it shows flaskd does not reach for them, not that Windows works."""
    port = free_port()
    env = {"HOOKS_LOG": str(tmp_path / "hooks.log")}
    args = ["run", "hooks.py", "--server", "waitress", "--port", str(port)]
    proc = spawn([PY, "-c", WITHOUT_POSIX, *args], env=env)
    assert proc.wait_http(f"http://127.0.0.1:{port}/").text == "ok"
    proc.signal(signal.SIGINT)
    assert proc.wait() == 0, proc.output
    assert "shutdown first" in (tmp_path / "hooks.log").read_text()
