"""`flaskd.run()`: what `flaskd run` does, from Python."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from flask import Flask

import flaskd
from conftest import PY, free_port


@pytest.mark.parametrize("target", ["'hooks.py'", "hooks.app", "hooks.service"])
def test_run_serves_a_target_an_app_or_a_service(spawn, tmp_path: Path, target: str) -> None:
    """flaskd.run() takes what `flaskd run` takes, a Flask app or a Service, with keyword
    settings; the app's own Service runs its hooks, and a SIGTERM stops it gracefully."""
    port = free_port()
    script = f"import flaskd, hooks\nflaskd.run({target}, port={port}, access_log=True)\n"
    proc = spawn([PY, "-c", script], env={"HOOKS_LOG": str(tmp_path / "hooks.log")})
    assert proc.wait_http(f"http://127.0.0.1:{port}/").text == "ok"
    proc.signal(signal.SIGTERM)
    assert proc.wait() == 0
    assert "flaskd.access" in proc.output
    assert (tmp_path / "hooks.log").read_text().splitlines()[:2] == [
        "startup first",
        "startup second",
    ]


def test_a_bad_value_names_the_argument() -> None:
    """A bad setting is a ConfigError naming the argument, before anything is served."""
    with pytest.raises(flaskd.ConfigError, match=r"^run\(\) argument port: invalid value 99999"):
        flaskd.run(Flask("x"), port=99999)


def test_an_unknown_setting_is_a_type_error() -> None:
    """A keyword that names no setting is refused, listing the settings."""
    with pytest.raises(TypeError, match=r"unknown settings \['thread'\]; the settings are"):
        flaskd.run(Flask("x"), thread=4)
