"""The ``flaskd`` command (run, dev, config, systemd, container, kube, migrate) over `Service`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from ._config import Resolved, Sources
from ._envfile import HELP as ENV_FILE_HELP
from ._envfile import load_env_files
from ._errors import ConfigError
from ._health import check as check_health
from ._init import reap_as_pid1
from ._run import serve
from ._settings import SETTINGS
from ._target import load_target
from .migrate.command import migrate
from .servers.base import load_server

TARGET_HELP = (
    "TARGET is a file (notes.py), a module (notes), or module:name or module:factory(args)."
)

F = Callable[..., Any]


def _serving_options(hidden: Collection[str] = ()) -> Callable[[F], F]:
    """Add one click option per declared serving setting; those in ``hidden`` are still
    accepted (so that refusing them can say why) but left out of ``--help``."""

    def add(f: F) -> F:
        for s in reversed(SETTINGS.values()):
            f = s.click_option(hidden=s.name in hidden)(f)
        f = click.option(
            "--env-file",
            "env_files",
            metavar="FILE",
            multiple=True,
            help=ENV_FILE_HELP,
        )(f)
        return click.option(
            "--config",
            "config_file",
            metavar="FILE",
            help="Config file, TOML or .py. [env <PREFIX>CONFIG]",
        )(f)

    return add


#: Options of `flask run` that belong to `flaskd dev`.
_DEV_ONLY = ("--reload", "--debug", "--debugger", "--reload-dir", "--extra-files")


class _ServingCommand(click.Command):
    """A command taking TARGET and serving options; an app option given here says where
    app options go instead."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as e:
            if e.option_name in _DEV_ONLY:
                why = (
                    "always runs Flask's reloader and debugger"
                    if self.name == "dev"
                    else "serves in production, with no reloader or debugger;"
                    " for development use `flaskd dev TARGET`"
                )
                message = f"no such option {e.option_name}: `flaskd {self.name}` {why}"
                raise ConfigError(message) from None
            near = ", ".join(sorted(e.possibilities or ()))
            close = f" (did you mean {near}?)" if near else ""
            raise ConfigError(
                f"no such option {e.option_name}{close}: `flaskd {self.name}` takes serving"
                " options; give the app's own options as <PREFIX><KEY> env vars or in"
                " --config FILE (`flaskd config TARGET` lists them), or pass them to the"
                " script itself (python app.py --option ...)"
            ) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flaskd")
def cli() -> None:
    """Run a Flask app in production: one configuration, real start-up and shutdown."""


@cli.command(cls=_ServingCommand)
@click.argument("target")
@_serving_options()
def run(
    target: str, config_file: str | None, env_files: tuple[str, ...], **serve_flags: Any
) -> None:
    """Serve TARGET with a production server (waitress unless --server says otherwise).

    App options come from the config file and <PREFIX><KEY> env vars.
    """
    reap_as_pid1()  # in a container, PID 1 must reap orphans: the server runs as its child
    sources = _sources(config_file, env_files, serve_flags)
    service = load_target(target)
    serve(service, service.resolve(sources))


@cli.command(cls=_ServingCommand)
@click.argument("target")
@_serving_options(hidden=load_server("dev").unsupported)
def dev(
    target: str, config_file: str | None, env_files: tuple[str, ...], **serve_flags: Any
) -> None:
    """Serve TARGET with Flask's reloader and debugger, on loopback only.

    Like `flask run`, also reads .flaskenv and .env from the working directory.
    """
    sources = _sources(config_file, env_files, serve_flags, dev=True)
    service = load_target(target)
    serve(service, service.resolve(sources), dev=True)


@cli.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_serving_options()
def config(
    target: str,
    config_file: str | None,
    env_files: tuple[str, ...],
    as_json: bool,
    **serve_flags: Any,
) -> None:
    """Show TARGET's resolved configuration and where each value came from.

    Secrets are masked.
    """
    sources = _sources(config_file, env_files, serve_flags)
    service = load_target(target)
    resolved = service.resolve(sources, complete=False)
    if as_json:
        click.echo(json.dumps(_as_json(service.env_prefix, resolved), indent=2, default=str))
    else:
        click.echo(_as_table(service.env_prefix, resolved))
    resolved.check_complete()  # shown first, then the same error as `flaskd run`


def _sources(
    config_file: str | None,
    env_files: Sequence[str],
    serve_flags: Mapping[str, Any],
    *,
    dev: bool = False,
) -> Sources:
    """What a command reads: the environment (with its env files exported into it, so that
    the app, its workers and a reloaded process see them too), the config file, the flags."""
    environ = dict(os.environ)
    files = load_env_files(env_files, os.environ, dev=dev)
    return Sources.from_cli(environ, config_file, serve_flags, env_files=files)


def _as_json(prefix: str, resolved: Resolved) -> dict[str, Any]:
    def entries(values: dict[str, Any]) -> dict[str, Any]:
        return {k: {"value": v.public(), "source": v.source} for k, v in values.items()}

    return {
        "env_prefix": prefix,
        "config_file": resolved.config_file,
        "app": entries(resolved.app),
        "serve": entries(resolved.serve),
        "warnings": resolved.warnings,
        "notes": resolved.notes,
        "missing": {key: f"{key} {why}" for key, why in resolved.missing.items()},
    }


def _as_table(prefix: str, resolved: Resolved) -> str:
    lines = [
        f"App configuration (env prefix {prefix}, config file {resolved.config_file or 'none'}):"
    ]
    for title, values in (("", resolved.app), ("Serving settings:", resolved.serve)):
        if title:
            lines.append(title)
        width = max((len(k) for k in values), default=0)
        shown = {k: "MISSING" if k in resolved.missing else v.shown() for k, v in values.items()}
        vwidth = max((len(s) for s in shown.values()), default=0)
        lines += [f"  {k:<{width}}  {shown[k]:<{vwidth}}  {v.source}" for k, v in values.items()]
    missing = [f"{key} {why}" for key, why in resolved.missing.items()]
    for title, notes in (
        ("Missing:", missing),
        ("Warnings:", resolved.warnings),
        ("Notes:", resolved.notes),
    ):
        if notes:
            lines.append(title)
            lines += [f"  - {note}" for note in notes]
    return "\n".join(lines)


@cli.command(cls=_ServingCommand)
@click.argument("target", required=False)
@click.option("--name", help="Unit name.  [default: TARGET's file name]")
@click.option(
    "--user", "user_scope", is_flag=True, help="A user unit (systemctl --user), not a system one."
)
@click.option(
    "--socket",
    is_flag=True,
    help="Also NAME.socket: systemd listens (any port, no capability) and starts the service"
    " on the first connection.",
)
@click.option("--service-user", metavar="USER", help="Run as this user instead of a dynamic one.")
@click.option("--group", metavar="GROUP", help="Run with this group.")
@click.option(
    "--credential",
    "credentials",
    metavar="KEY=PATH",
    multiple=True,
    help="The app's secret KEY, from PATH (LoadCredential=, read by systemd); repeatable.",
)
@click.option(
    "--state",
    metavar="KEY[=FILE]",
    multiple=True,
    help="Set the app's option KEY to FILE in the state directory (/var/lib/NAME);"
    " FILE defaults to the option's file name; repeatable.",
)
@click.option(
    "--memory-deny-write-execute",
    is_flag=True,
    help="MemoryDenyWriteExecute=yes (breaks JITs and ctypes/cffi callbacks).",
)
@click.option(
    "--private-network",
    is_flag=True,
    help="PrivateNetwork=yes: no outgoing connections (needs --socket).",
)
@click.option(
    "--output",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Write NAME.service (and NAME.socket) into DIR instead of printing them.",
)
@click.option("--install", is_flag=True, help="Install, enable and start the units.")
@click.option("--uninstall", is_flag=True, help="Stop, disable and remove the units NAME.")
@_serving_options()
def systemd(
    target: str | None,
    config_file: str | None,
    output: str | None,
    install: bool,
    uninstall: bool,
    **options: Any,
) -> None:
    """Write hardened systemd units that serve TARGET with `flaskd run`.

    The unit runs this environment's Python, so install flaskd in the app's venv
    and run this command from there. The units are printed, written to --output
    or installed; anything that would keep them from starting is an error.
    """
    from . import systemd as units_

    actions = [flag for flag, on in (("--install", install), ("--uninstall", uninstall),
                                     ("--output", output is not None)) if on]  # fmt: skip
    if len(actions) > 1:
        raise ConfigError(f"{' and '.join(actions)}: give only one of them")

    if uninstall:
        if target is None and options["name"] is None:
            raise click.UsageError("--uninstall needs --name NAME (or TARGET)")
        name = options["name"] or units_.default_name(target or "")
        for line in units_.uninstall(name, user_scope=options["user_scope"]):
            click.echo(line)
        return
    if target is None:
        raise click.UsageError("Missing argument 'TARGET'.")
    serve_flags = {n: options.pop(n) for n in SETTINGS}
    units = units_.make_units(target, config_file=config_file, serve_flags=serve_flags, **options)
    for warning in units.warnings:
        click.echo(f"warning: {warning}", err=True)
    if install:
        for line in units_.install(units):
            click.echo(line)
    elif output is not None:
        for path in units_.write(units, Path(output)):
            click.echo(f"wrote {path}")
    else:
        click.echo("\n".join(units.files().values()), nl=False)


_STATE_HELP = (
    "Set the app's option KEY to FILE in the state directory (/var/lib/NAME, a volume);"
    " FILE defaults to the option's file name; repeatable."
)


@cli.command(cls=_ServingCommand)
@click.argument("target")
@click.option("--name", help="Image and path name.  [default: TARGET's file name]")
@click.option(
    "--base-image",
    metavar="IMAGE",
    help="Image to build on (python3 and its venv module, this Python's minor version)."
    "  [default: the official python:X.Y-slim]",
)
@click.option("--state", metavar="KEY[=FILE]", multiple=True, help=_STATE_HELP)
@click.option(
    "--output",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Write the build context (Containerfile, app, wheels) into DIR; without it, print"
    " the Containerfile only.",
)
@_serving_options()
def container(
    target: str,
    config_file: str | None,
    env_files: tuple[str, ...],
    base_image: str | None,
    output: str | None,
    **options: Any,
) -> None:
    """Write a hardened Containerfile that serves TARGET with `flaskd run`, and with
    --output everything its build needs, so that it builds with no network.

    The app's Python packages come from a requirements.txt or pyproject.toml beside
    it, else from what this environment has installed for its imports; they are made
    into wheels here.
    """
    from . import container as container_

    if env_files:
        raise ConfigError(
            "--env-file: an image does not carry env files (they may hold secrets): give the"
            " variables when you run it (podman run -e VAR=VALUE, or --env-file FILE)"
        )
    serve_flags = {n: options.pop(n) for n in SETTINGS}
    image = container_.make_image(
        target, base_image=base_image, config_file=config_file, serve_flags=serve_flags, **options
    )
    for warning in image.warnings:
        click.echo(f"warning: {warning}", err=True)
    if output is None:
        click.echo(image.containerfile, nl=False)
        return
    click.echo(f"Python packages: {image.requirements.origin}", err=True)
    for path in container_.write(image, Path(output)):
        click.echo(f"wrote {path}")
    click.echo(
        f"build it with no network: podman build --network none --format docker"
        f" -t {image.layout.name} {output}",
        err=True,
    )


@cli.command(cls=_ServingCommand)
@click.argument("target")
@click.option(
    "--image", required=True, metavar="IMAGE", help="The image to run (NAME:TAG[@DIGEST])."
)
@click.option("--name", help="Object and path name.  [default: TARGET's file name]")
@click.option("--namespace", metavar="NS", help="Namespace (never default).  [default: NAME]")
@click.option("--replicas", type=int, default=2, show_default=True, help="Pods to run.")
@click.option(
    "--max-replicas",
    type=int,
    metavar="N",
    help="Add a HorizontalPodAutoscaler scaling up to N pods on CPU.",
)
@click.option(
    "--secret",
    "secrets",
    metavar="KEY",
    multiple=True,
    help="Read the app's option KEY from a file of the Secret (besides the options whose"
    " names look secret); repeatable.",
)
@click.option("--state", metavar="KEY[=FILE]", multiple=True, help=_STATE_HELP)
@click.option(
    "--output",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Write NAME.yaml into DIR instead of printing it.",
)
@_serving_options()
def kube(
    target: str,
    config_file: str | None,
    env_files: tuple[str, ...],
    output: str | None,
    **options: Any,
) -> None:
    """Write Kubernetes objects that run TARGET from --image: a hardened Deployment with
    probes and a drain, a Service, its config file as a ConfigMap, its secrets as files of
    a Secret (no values written), a PodDisruptionBudget and a NetworkPolicy.
    """
    from . import kube as kube_

    if env_files:
        raise ConfigError(
            "--env-file: put the settings in --config FILE (a ConfigMap) and the secrets in"
            " the Secret (--secret KEY)"
        )
    serve_flags = {n: options.pop(n) for n in SETTINGS}
    manifests = kube_.make_manifests(
        target, config_file=config_file, serve_flags=serve_flags, **options
    )
    for warning in manifests.warnings:
        click.echo(f"warning: {warning}", err=True)
    if output is None:
        click.echo(manifests.text, nl=False)
    else:
        click.echo(f"wrote {manifests.write(Path(output))}")


@cli.command()
@click.argument("url")
@click.option(
    "--timeout",
    default="5",
    metavar="SECONDS",
    help="Seconds to wait for the answer.  [default: 5]",
)
def health(url: str, timeout: str) -> None:
    """Exit 0 if URL answers 200, 1 otherwise, with one line saying which.

    For a container's HEALTHCHECK in an image without curl: flaskd health
    http://127.0.0.1:8000/readyz. No proxy is used and no redirect followed.
    """
    ok, line = check_health(url, timeout)
    click.echo(line)
    if not ok:
        sys.exit(1)


cli.add_command(migrate)


def main() -> None:
    """Entry point of the ``flaskd`` console script."""
    cli(prog_name="flaskd")
