"""The example app started five ways answers the same from the same configuration."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import requests

from conftest import BIN, EXAMPLE, FLASKD, PY, free_port, run


def config_env(tmp_path: Path) -> dict[str, str]:
    secret = tmp_path / "secret_key"
    secret.write_text("not-a-real-secret\n")
    return {
        "NOTES_DB": str(tmp_path / "notes.sqlite"),
        "NOTES_TITLE": "Team notes",
        "NOTES_MAX_LENGTH": "20",
        "NOTES_SECRET_KEY_FILE": str(secret),
    }


def config_file(tmp_path: Path) -> Path:
    file = tmp_path / "notes.toml"
    file.write_text(f'db = "{tmp_path / "notes.sqlite"}"\ntitle = "Team notes"\nmax_length = 20\n')
    return file


def standalone(tmp_path: Path, port: int) -> tuple[list[str], dict[str, str]]:
    env = config_env(tmp_path)
    flags = ["--db", env.pop("NOTES_DB"), "--title", env.pop("NOTES_TITLE")]
    flags += ["--max-length", env.pop("NOTES_MAX_LENGTH"), "--port", str(port)]
    return [PY, "notes.py", *flags], env


def flaskd_run(tmp_path: Path, port: int) -> tuple[list[str], dict[str, str]]:
    env = {"NOTES_SECRET_KEY_FILE": config_env(tmp_path)["NOTES_SECRET_KEY_FILE"]}
    args = [*FLASKD, "run", "notes.py", "--config", str(config_file(tmp_path)), "--port", str(port)]
    return args, env


def waitress_call(tmp_path: Path, port: int) -> tuple[list[str], dict[str, str]]:
    args = [
        str(BIN / "waitress-serve"),
        "--listen",
        f"127.0.0.1:{port}",
        "--call",
        "notes:service.create_app",
    ]
    return args, config_env(tmp_path)


def gunicorn_factory(tmp_path: Path, port: int) -> tuple[list[str], dict[str, str]]:
    env = {"NOTES_CONFIG": str(config_file(tmp_path))}
    env["NOTES_SECRET_KEY_FILE"] = config_env(tmp_path)["NOTES_SECRET_KEY_FILE"]
    return [str(BIN / "gunicorn"), "-b", f"127.0.0.1:{port}", "notes:create_app()"], env


def gunicorn_service(tmp_path: Path, port: int) -> tuple[list[str], dict[str, str]]:
    return [str(BIN / "gunicorn"), "-b", f"127.0.0.1:{port}", "notes:service"], config_env(tmp_path)


WAYS = [standalone, flaskd_run, waitress_call, gunicorn_factory, gunicorn_service]


@pytest.mark.parametrize("way", WAYS, ids=[w.__name__ for w in WAYS])
def test_example_answers_the_same_every_way(spawn, tmp_path: Path, way) -> None:
    """Standalone, flaskd run, waitress-serve --call and gunicorn (factory and Service) agree."""
    port = free_port()
    args, env = way(tmp_path, port)
    proc = spawn(args, cwd=EXAMPLE, env=env)
    base = f"http://127.0.0.1:{port}"
    assert proc.wait_http(base + "/").json() == {"title": "Team notes", "signed": True}
    assert requests.post(base + "/notes", json={"text": "x" * 21}, timeout=5).status_code == 400
    created = requests.post(base + "/notes", json={"text": "ship it"}, timeout=5)
    assert created.status_code == 201
    assert requests.get(base + "/notes", timeout=5).json() == [{"id": 1, "text": "ship it"}]
    # waitress-serve has no SIGTERM handler (it dies of the signal); it stops cleanly on SIGINT.
    proc.signal(signal.SIGINT if way is waitress_call else signal.SIGTERM)
    assert proc.wait() == 0
    assert (tmp_path / "notes.sqlite").exists()


def test_importing_under_a_wsgi_servers_argv_does_not_crash() -> None:
    """Importing the example with gunicorn's argv neither reads nor rejects that argv."""
    code = (
        "import sys; sys.argv = ['gunicorn', '-w', '4', '-b', '0.0.0.0:80', 'notes:service'];"
        "import notes; app = notes.create_app(); print(app.config['DB'], app.config['TITLE'])"
    )
    result = run([PY, "-c", code], cwd=EXAMPLE, env={"NOTES_DB": ":memory:"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [":memory:", "Notes"]
