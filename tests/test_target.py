"""Finding the app a TARGET names refuses to guess, and lets the app's own bugs show."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask import Flask

from conftest import APPS, FLASKD, run
from flaskd import Service
from flaskd.cli import cli


def config(monkeypatch: pytest.MonkeyPatch, target: str):
    """`flaskd config TARGET`, in-process, from the test apps' directory."""
    monkeypatch.chdir(APPS)
    return CliRunner().invoke(cli, ["config", target])


def test_several_services_must_be_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """A module with several services is an error naming each (aliases together), not the
    first or the one called `service` served silently; naming one serves it."""
    result = config(monkeypatch, "two_services.py")
    assert result.exit_code == 2
    assert "holds several services (admin, public = service)" in result.output
    assert "'two_services:admin'" in result.output
    named = config(monkeypatch, "two_services:admin")
    assert named.exit_code == 0, named.output
    assert "env prefix ADMIN_" in named.output


def test_missing_module_is_named_without_flaskd_internals(monkeypatch) -> None:
    """A module that does not exist is said so, without a path into flaskd's own code."""
    result = config(monkeypatch, "nope.module")
    assert result.exit_code == 2
    assert result.output.strip() == "Error: TARGET 'nope.module': no module named 'nope'"


def test_factory_called_with_wrong_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    """Arguments the factory does not take are a one-line user error."""
    result = config(monkeypatch, "buggy_factory:create_app(1)")
    assert result.exit_code == 2
    assert "cannot call the factory: create_app() takes 0 positional arguments" in result.output


def test_bug_inside_a_factory_shows_its_traceback() -> None:
    """A bug inside the factory is the app's: its traceback shows the file and line (it used
    to be reduced to 'the factory failed: KeyError', exit 2)."""
    result = run([*FLASKD, "config", "buggy_factory.py"])
    assert result.returncode == 1
    assert 'buggy_factory.py", line 8, in create_app' in result.stderr
    assert result.stderr.strip().endswith("KeyError: 'missing'")


@pytest.mark.parametrize("decorator", ["on_startup", "on_shutdown"])
def test_async_hook_is_refused_when_registered(decorator: str) -> None:
    """An `async def` hook would never run (hooks are called, not awaited): refused at once."""
    service = Service(Flask("x"), env_prefix="X_")

    async def connect(app: Flask) -> None:
        pass

    with pytest.raises(TypeError, match=r"connect is async: .* make it a def"):
        getattr(service, decorator)(connect)
