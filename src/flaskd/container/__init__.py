"""Container images for a flaskd service: a Containerfile, built with no network.

`make_image` describes the deployment (the same description as ``flaskd systemd``)
and renders a multi-stage Containerfile; `write` puts it into a directory with
everything the build needs: the app's files, its config file, a wheelhouse of the
app's dependencies and flaskd made on this machine, and pip's wheel, which installs
them, so that ``podman build --network none`` (or ``docker build``) works.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Any

from ._layout import APP_DIR, UID, Layout, describe_image
from ._render import CONTAINERIGNORE, default_base_image, render
from ._wheels import Requirements, build_wheelhouse, copy_app, fetch_installer, requirements

__all__ = ["UID", "Image", "Layout", "default_base_image", "describe_image", "make_image", "write"]


@dataclasses.dataclass(frozen=True)
class Image:
    """A Containerfile and what goes beside it."""

    layout: Layout
    containerfile: str
    #: What pip installs, and where that came from.
    requirements: Requirements

    @property
    def warnings(self) -> list[str]:
        layout = self.layout
        return [
            f.warning(
                f"the app's directory in the image ({APP_DIR}), which the image's user cannot"
                " write (and the root file system may be read-only)",
                f"the state volume ({layout.state_dir}: podman run -v"
                f" {layout.name}-data:{layout.state_dir})",
            )
            for f in layout.deployment.data_files
        ]


def make_image(target: str, *, base_image: str | None = None, **options: Any) -> Image:
    """Describe ``target`` served from an image (``options`` are `describe_image`'s) and
    render its Containerfile. Raises `ConfigError` for what would not start."""
    layout = describe_image(target, **options)
    d = layout.deployment
    reqs = requirements(Path(d.workdir), d.resolved.serve["server"].value)
    text = render(layout, base_image=base_image or default_base_image(), origin=reqs.origin)
    return Image(layout, text, reqs)


def write(image: Image, output: Path) -> list[Path]:
    """Write the build context into ``output`` (replacing what flaskd wrote there before);
    return the files and directories written."""
    output.mkdir(parents=True, exist_ok=True)
    d = image.layout.deployment
    for old in ("app", "wheels", "installer", "config"):
        shutil.rmtree(output / old, ignore_errors=True)
    copy_app(Path(d.workdir), output / "app", skip=output.resolve())
    _readable(output / "app")
    written = [output / "app"]
    if d.config_file is not None:
        (output / "config").mkdir()
        shutil.copy(d.config_file, output / "config" / os.path.basename(d.config_file))
        _readable(output / "config")
        written.append(output / "config")
    build_wheelhouse(image.requirements, output / "wheels")
    fetch_installer(output / "installer")
    written += [output / "wheels", output / "installer"]
    (output / "Containerfile").write_text(image.containerfile)
    (output / ".containerignore").write_text(CONTAINERIGNORE)
    return [output / "Containerfile", output / ".containerignore", *written]


def _readable(top: Path) -> None:
    """Let the image's user read what was copied (and enter directories), whatever the
    modes were here: 644, or 755 for directories and executables."""
    for path in [top, *top.rglob("*")]:
        if path.is_symlink():
            continue
        executable = path.is_dir() or os.access(path, os.X_OK)
        path.chmod(0o755 if executable else 0o644)
