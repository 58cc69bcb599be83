"""Finding the service a command-line TARGET names, as ``flask --app`` does."""

from __future__ import annotations

import ast
import importlib
import os
import re
import sys
import traceback
from types import ModuleType
from typing import Any

import flask
from flask.cli import prepare_import

from ._errors import ConfigError
from ._service import Service, loading_by_flaskd

LOOKED_FOR = (
    "a flaskd Service, 'app' or 'application' (a Flask app),"
    " or 'create_app' or 'make_app' (a factory)"
)


def load_target(target: str) -> Service:
    """Import ``target`` (``notes.py``, ``notes``, ``notes:app``, ``notes:make(1)``) and
    return its `Service`; a plain Flask app is wrapped in one.

    Raises `ConfigError` when the module cannot be imported or holds no app.
    """
    path, name = (*re.split(r":(?![\\/])", target, maxsplit=1), "")[:2]
    if path.endswith(".py") and not os.path.isfile(path):
        raise ConfigError(f"TARGET {target!r}: file {path!r} not found")
    with loading_by_flaskd():
        module = _import(prepare_import(path), target)
        found = _by_name(module, name, target) if name else _best(module, target)
        return _service_for(found, target)


def _import(module_name: str, target: str) -> ModuleType:
    argv = sys.argv
    # A script that parses its command line at import time sees none, not flaskd's.
    sys.argv = [target]
    try:
        return importlib.import_module(module_name)
    except SystemExit as e:
        raise ConfigError(
            f"TARGET {target!r}: importing {module_name!r} exited (status {e.code});"
            " does it parse the command line or call sys.exit() at import?"
        ) from None
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise ConfigError(f"TARGET {target!r}: no module named {e.name!r}") from None
        raise ConfigError(f"TARGET {target!r}: {_where(e)}{type(e).__name__}: {e}") from None
    except Exception as e:
        raise ConfigError(f"TARGET {target!r}: {_where(e)}{type(e).__name__}: {e}") from None
    finally:
        sys.argv = argv


def _where(error: BaseException) -> str:
    """``file:line: `` of the innermost frame of the app's code (not importlib's or flaskd's)."""
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if "importlib" not in f.filename and f.filename != __file__
    ]
    if isinstance(error, SyntaxError) or not frames:
        return ""
    return f"{frames[-1].filename}:{frames[-1].lineno}: "


def _by_name(module: ModuleType, expression: str, target: str) -> Any:
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        node = None
    if isinstance(node, ast.Name):
        name, call, args, kwargs = node.id, False, [], {}
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name, call = node.func.id, True
        try:
            args = [ast.literal_eval(a) for a in node.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
        except ValueError:
            raise ConfigError(f"TARGET {target!r}: factory arguments must be literals") from None
    else:
        raise ConfigError(
            f"TARGET {target!r}: {expression!r} is neither a name nor a call like 'make_app(1)'"
        )
    if not hasattr(module, name):
        raise ConfigError(f"TARGET {target!r}: {module.__name__!r} has no attribute {name!r}")
    found = getattr(module, name)
    if call or (callable(found) and not _is_app(found)):
        found = _call(found, args, kwargs, target)
    return found


def _best(module: ModuleType, target: str) -> Any:
    services: dict[int, list[str]] = {}
    for name, value in vars(module).items():
        if isinstance(value, Service):
            services.setdefault(id(value), []).append(name)
    if len(services) > 1:
        names = ", ".join(" = ".join(names) for names in services.values())
        first = next(iter(services.values()))[0]
        raise ConfigError(
            f"TARGET {target!r}: {module.__name__!r} holds several services ({names});"
            f" name the one to serve, e.g. '{module.__name__}:{first}'"
        )
    if services:
        return getattr(module, next(iter(services.values()))[0])
    for name in ("app", "application"):
        if isinstance(getattr(module, name, None), flask.Flask):
            return getattr(module, name)
    for name in ("create_app", "make_app"):
        if callable(getattr(module, name, None)):
            return _call(getattr(module, name), [], {}, target)
    raise ConfigError(
        f"TARGET {target!r}: no app found in {module.__name__!r}; looked for {LOOKED_FOR}"
    )


def _call(factory: Any, args: list[Any], kwargs: dict[str, Any], target: str) -> Any:
    service = getattr(factory, "__flaskd_service__", None)
    if service is not None:
        return service  # a Service's own create_app: start it our way, not the factory's
    try:
        return factory(*args, **kwargs)
    except TypeError as e:
        if e.__traceback__ is not None and e.__traceback__.tb_next is None:
            # Raised by the call itself, not inside the factory: the arguments are wrong.
            raise ConfigError(f"TARGET {target!r}: cannot call the factory: {e}") from None
        raise  # a bug inside the factory: its own traceback says where


def _is_app(obj: Any) -> bool:
    return isinstance(obj, Service | flask.Flask)


def _service_for(found: Any, target: str) -> Service:
    if isinstance(found, Service):
        return found
    if isinstance(found, flask.Flask):
        return Service.of(found)
    raise ConfigError(
        f"TARGET {target!r}: found a {type(found).__name__}, not a Flask app;"
        f" looked for {LOOKED_FOR}"
    )
