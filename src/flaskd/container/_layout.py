"""The service inside an image: where its files are, who it runs as, the variables it gets.

The Containerfile and the Kubernetes objects both read this, so that a probe, a mount
and an env var name the same path in both. `describe_image` builds it from the same
`describe` as ``flaskd systemd``, with the checks that only a container needs: the
image listens on every interface of its own network namespace, on an unprivileged
port.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .._deployment import Deployment, default_name, describe
from .._errors import ConfigError
from ..servers.base import check_probe_paths

#: The fixed non-root user and group the service runs as (no name needed in the image).
UID = 10001
APP_DIR = "/app"
VENV = "/opt/venv"
#: Readiness and liveness paths the image answers unless the user's settings name others.
READY_PATH = "/readyz"
LIVE_PATH = "/livez"
#: A Kubernetes object name (a DNS-1123 label), also used for the image and its paths.
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_LOWEST_PORT = 1024


@dataclasses.dataclass(frozen=True)
class Layout:
    """The deployment as an image runs it."""

    deployment: Deployment
    port: int
    ready_path: str
    live_path: str
    #: The config file's place in the image (``<PREFIX>CONFIG``), None without one.
    config_path: str | None
    #: What the image sets with ``ENV``, in order.
    env: dict[str, str]

    @property
    def name(self) -> str:
        return self.deployment.name

    @property
    def prefix(self) -> str:
        return self.deployment.service.env_prefix

    @property
    def state_dir(self) -> str:
        """The one writable directory besides /tmp (a volume)."""
        return f"/var/lib/{self.name}"

    @property
    def config_dir(self) -> str:
        return f"/etc/{self.name}"

    @property
    def entrypoint(self) -> list[str]:
        """``flaskd run`` as PID 1, exec form; the address comes from the image's env."""
        d = self.deployment
        return [f"{VENV}/bin/python", "-m", "flaskd", "run", d.target, *d.run_args(_ADDRESS)]

    def health_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


_ADDRESS = ("host", "port", "bind")


def describe_image(
    target: str,
    *,
    name: str | None = None,
    state: Sequence[str] = (),
    config_file: str | None = None,
    serve_flags: Mapping[str, Any] | None = None,
    **options: Any,
) -> Layout:
    """Describe ``target`` served from an image; ``options`` go to `describe`.

    Raises `ConfigError` for what would not start in a container.
    """
    given = {k: v for k, v in (serve_flags or {}).items() if v not in (None, ())}
    for setting in ("host", "bind"):
        if setting in given:
            raise ConfigError(
                f"--{setting}: an image listens on 0.0.0.0 in its own network namespace"
                " (FLASKD_HOST in the image); choose the port with --port, and where it is"
                " published when you run it (podman run -p 127.0.0.1:8000:PORT)"
            )
    name = check_label(name or default_name(target).lower())
    d = describe(
        target,
        name=name,
        state=state,
        config_file=config_file,
        serve_flags=given,
        environ={"FLASKD_HOST": "0.0.0.0"},
        **options,
    )
    bind = d.resolved.serve["bind"]
    if bind.value:
        raise ConfigError(
            f"{bind.source}: bind {' '.join(bind.value)}: an image listens on 0.0.0.0 and the"
            " port (PORT); drop bind and set port instead"
        )
    port = d.resolved.serve["port"]
    if port.value < _LOWEST_PORT:
        raise ConfigError(
            f"{port.source}: port {port.value} is below {_LOWEST_PORT}, which the image's"
            f" non-root user cannot bind: choose a port of {_LOWEST_PORT} or above and map it"
            " (podman run -p 127.0.0.1:80:8000, or the Service's port)"
        )
    settings = d.resolved.settings
    paths: dict[str, str] = {}
    sources = dict(settings.sources)
    for setting, default in (("ready_path", READY_PATH), ("live_path", LIVE_PATH)):
        paths[setting] = getattr(settings, setting) or default
        if getattr(settings, setting) is None:
            sources[setting] = f"the image's FLASKD_{setting.upper()} (its default)"
    # The image sets the paths the user left out: the same check as for one the user gave.
    with_paths = dataclasses.replace(
        settings, ready_path=paths["ready_path"], live_path=paths["live_path"], sources=sources
    )
    check_probe_paths(d.service.app, with_paths)

    config_path = None
    if d.config_file is not None:
        config_path = f"/etc/{name}/{os.path.basename(d.config_file)}"
    env = {
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PATH": f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "FLASKD_HOST": "0.0.0.0",
        "PORT": str(port.value),
        "FLASKD_READY_PATH": paths["ready_path"],
        "FLASKD_LIVE_PATH": paths["live_path"],
    }
    if config_path is not None:
        env[f"{d.service.env_prefix}CONFIG"] = config_path
    for key, file in d.state:
        env[d.service.env_prefix + key] = f"/var/lib/{name}/{file}"
    return Layout(d, port.value, paths["ready_path"], paths["live_path"], config_path, env)


def check_label(name: str, what: str = "--name") -> str:
    """``name`` if it can name a Kubernetes object and an image; else `ConfigError`."""
    if not _LABEL.fullmatch(name):
        raise ConfigError(
            f"{what} {name!r}: not a name Kubernetes accepts; use at most 63 lowercase letters,"
            " digits and -, starting and ending with a letter or digit"
        )
    return name
