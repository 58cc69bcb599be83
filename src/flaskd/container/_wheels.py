"""What the image installs: the app's dependencies and flaskd, as wheels made on this machine.

The build then needs no network: the Containerfile installs the wheelhouse with
``pip install --no-index``, pinned to the versions in it, running pip from its own wheel
(beside the wheelhouse, not in it) as ``ensurepip`` does: the image's venv gets no pip.
Dependencies come from a requirements.txt or a pyproject.toml beside the app, else from
what this environment has installed for the modules the app imports.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from .._errors import ConfigError

#: What is not copied from the app's directory into the image: other environments, caches,
#: version control, local env files (they may hold secrets) and local databases.
IGNORED = (
    ".git", ".hg", ".venv", "venv", ".tox", ".nox", "__pycache__", "*.pyc", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", "node_modules", ".env", ".flaskenv", "*.sqlite",
    "*.sqlite3", "*.db", "Containerfile", "Dockerfile", ".containerignore", ".dockerignore",
)  # fmt: skip
_EXTRAS = {"gunicorn": "gunicorn", "granian": "granian"}


@dataclasses.dataclass(frozen=True)
class Requirements:
    """What pip installs for the app, and where that list came from (said to the user)."""

    args: list[str]
    origin: str


def requirements(workdir: Path, server: str) -> Requirements:
    """The app's requirements, with flaskd and its ``server``'s extra."""
    flaskd = [_flaskd(_EXTRAS.get(server))]
    if (workdir / "requirements.txt").is_file():
        return Requirements(
            ["-r", str(workdir / "requirements.txt"), *flaskd],
            f"dependencies from {workdir / 'requirements.txt'}",
        )
    pyproject = workdir / "pyproject.toml"
    if pyproject.is_file():
        try:
            project = tomllib.loads(pyproject.read_text()).get("project", {})
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{pyproject}: not valid TOML: {e}") from None
        if "dependencies" in project:
            return Requirements(
                [*project["dependencies"], *flaskd],
                f"dependencies from {pyproject} [project] dependencies",
            )
    found = _imported_distributions(workdir)
    shown = ", ".join(found) or "none besides flaskd"
    return Requirements(
        [*found, *flaskd],
        f"no requirements.txt or pyproject.toml beside the app: dependencies are what this"
        f" environment has installed for the app's imports ({shown})",
    )


def build_wheelhouse(reqs: Requirements, into: Path) -> list[str]:
    """Make wheels of ``reqs`` and everything they need into ``into``, with a
    requirements.txt pinning each; return the pins."""
    into.mkdir(parents=True, exist_ok=True)
    # flaskd's own source directory, if it is one of them, is built in place: its build
    # backend (flit_core) writes nothing there, so two builds at once do not meet.
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--wheel-dir", str(into), *reqs.args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise ConfigError(f"making the wheelhouse failed (pip wheel {' '.join(reqs.args)}): {last}")
    pins = sorted(
        {"{}=={}".format(*wheel.name.split("-")[:2]) for wheel in into.glob("*.whl")},
        key=str.lower,
    )
    (into / "requirements.txt").write_text("".join(f"{pin}\n" for pin in pins))
    return pins


def installer_wheel() -> str:
    """The file name of the pip wheel the build stage runs: the version of the pip that
    makes the wheelhouse (pip's wheels are all ``py3-none-any``)."""
    return f"pip-{_pip_version()}-py3-none-any.whl"


def fetch_installer(into: Path) -> Path:
    """Put `installer_wheel` into ``into`` (from pip's cache or the index); its path."""
    into.mkdir(parents=True, exist_ok=True)
    pin = f"pip=={_pip_version()}"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--only-binary=:all:", "--dest", str(into), pin],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wheel = into / installer_wheel()
    if done.returncode != 0 or not wheel.is_file():
        last = (done.stderr.strip().splitlines() or [f"no {wheel.name}"])[-1]
        raise ConfigError(f"fetching the build's installer failed (pip download {pin}): {last}")
    return wheel


def _pip_version() -> str:
    try:
        return metadata.version("pip")
    except metadata.PackageNotFoundError:
        raise ConfigError(
            f"pip is not installed for {sys.executable}: flaskd container makes the image's"
            f" wheels with it ({sys.executable} -m ensurepip installs it)"
        ) from None


def copy_app(workdir: Path, into: Path, skip: Path | None = None) -> None:
    """Copy the app's directory into ``into``, without what `IGNORED` names (nor ``skip``,
    the output directory when it is inside)."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        ignored = shutil.ignore_patterns(*IGNORED)(directory, names)
        return ignored | {n for n in names if skip is not None and Path(directory, n) == skip}

    shutil.copytree(workdir, into, ignore=ignore, symlinks=True)


def _flaskd(extra: str | None) -> str:
    """flaskd as pip can make its wheel: the source directory it was installed from, else
    this version from the index."""
    dist = metadata.distribution("flaskd")
    extras = f"[{extra}]" if extra else ""
    direct = dist.read_text("direct_url.json")
    url = json.loads(direct).get("url", "") if direct else ""
    if url.startswith("file://") and Path(url.removeprefix("file://")).is_dir():
        return url.removeprefix("file://") + extras
    return f"flaskd{extras}=={dist.version}"


def _imported_distributions(workdir: Path) -> list[str]:
    """``name==version`` of the installed distributions the app's modules import."""
    local = {p.stem for p in workdir.glob("*.py")} | {
        p.parent.name for p in workdir.glob("*/__init__.py")
    }
    modules: set[str] = set()
    for path in workdir.rglob("*.py"):
        if any(part in IGNORED for part in path.relative_to(workdir).parts):
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.partition(".")[0])
    modules -= local | set(sys.stdlib_module_names) | {"flaskd"}
    providers = metadata.packages_distributions()
    pins = set()
    for module in modules:
        for dist in providers.get(module, ()):
            if dist.lower() != "flaskd":
                pins.add(f"{dist}=={metadata.version(dist)}")
    return sorted(pins, key=str.lower)
