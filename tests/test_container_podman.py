"""`flaskd container` and `flaskd kube` for real, under podman (Debian's podman 4.3).

There is no image registry here: the base image is a Debian tree with python3 and
python3-venv made by scripts/podman-base (debootstrap, then ``podman import``), cached
in /var/cache/flaskd-test and in root's podman storage. The images of tests/apps/boxed.py
(one per backend: waitress, and gunicorn and granian with two workers) are built from
`flaskd container`'s output with no network, each once, by the pytest-xdist worker that
runs its tests (`on_image`: the three are built at the same time); containers publish
their port on 127.0.0.1 only. podman reads tests/podman/containers.conf (CONTAINERS_CONF):
runc, as crun refuses this machine's hybrid cgroups, and no default ulimits, as the
open-files hard limit here is below podman's default. With no systemd as PID 1 podman
cannot schedule health checks: the tests run the image's HEALTHCHECK with
``podman healthcheck run``, which records the status as the timer would.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from conftest import (
    APPS,
    CONTAINER_TIMEOUT,
    FLASKD,
    ROOT,
    InFlight,
    free_port,
    run,
    wait_for,
)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="podman's image store here is root's"),
    pytest.mark.timeout(600),
]

BASE = "localhost/flaskd-test-debian:bookworm"
CONF = ROOT / "tests" / "podman" / "containers.conf"
REPOSITORY = "localhost/flaskd-test-boxed"
TOKEN = "t0ken-from-a-file"
#: The backends an image is built for, with the flags `flaskd container` takes to choose one.
SERVERS = {
    "waitress": (),
    "gunicorn": ("--server", "gunicorn", "--workers", "2"),
    "granian": ("--server", "granian", "--workers", "2"),
}


def podman(
    *args: str, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["podman", *args],
        env={**os.environ, "CONTAINERS_CONF": str(CONF)},
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if check and done.returncode != 0:
        pytest.fail(f"podman {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


@dataclasses.dataclass(frozen=True)
class Image:
    """An image built from `flaskd container`'s output."""

    server: str
    tag: str
    digest: str

    @property
    def workers(self) -> int:
        flags = SERVERS[self.server]
        return int(flags[flags.index("--workers") + 1]) if "--workers" in flags else 1


@pytest.fixture(scope="session")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/apps/boxed.py with a config file beside it."""
    where = tmp_path_factory.mktemp("boxed")
    shutil.copy(APPS / "boxed.py", where / "boxed.py")
    (where / "boxed.toml").write_text('title = "from the image"\n')
    return where


def on_image(server: str) -> pytest.MarkDecorator:
    """The tests of one backend's image run in one pytest-xdist worker, which builds it: the
    three images are built at the same time, in three workers, each once."""
    return pytest.mark.xdist_group(f"podman-{server}")


@pytest.fixture(scope="session")
def images(
    app_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Image]]:
    """The image of a backend, built with no network the first time a test asks for it."""
    if shutil.which("podman") is None:
        pytest.fail("podman is missing: ./scripts/test installs it")
    made = subprocess.run([ROOT / "scripts" / "podman-base", BASE], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    built: dict[str, Image] = {}

    def build(server: str) -> Image:
        if server in built:
            return built[server]
        context = tmp_path_factory.mktemp(f"context-{server}")
        done = run(
            [*FLASKD, "container", "boxed.py", "--config", "boxed.toml",
             "--graceful-timeout", "20", *SERVERS[server], "--base-image", BASE,
             "--output", str(context)],
            cwd=app_dir, timeout=CONTAINER_TIMEOUT,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        tag = f"{REPOSITORY}:{server}-{os.getpid()}"
        # --layers=false: no build stage image left behind, and nothing to reuse anyway.
        podman("build", "-q", "--layers=false", "--pull=never", "--network", "none",
               "--format", "docker", "-t", tag, str(context))  # fmt: skip
        digest = podman("image", "inspect", "--format", "{{.Digest}}", tag).stdout.strip()
        built[server] = Image(server, tag, digest)
        return built[server]

    yield build
    for image in built.values():
        podman("rmi", "-f", image.tag, check=False)


@pytest.fixture(params=[pytest.param(server, marks=on_image(server)) for server in SERVERS])
def image(request: pytest.FixtureRequest, images: Callable[[str], Image]) -> Image:
    """The image of each backend in turn."""
    return images(request.param)


@pytest.fixture
def container() -> Iterator[list[str]]:
    """Names of containers a test starts (removed at the end)."""
    names: list[str] = []
    yield names
    for name in names:
        podman("rm", "-f", "-t", "0", name, check=False)


def start(names: list[str], image: Image, *args: str) -> tuple[str, str]:
    """Run ``image`` detached with ``args``, its port on 127.0.0.1; (name, base URL)."""
    name = f"flaskd-test-{os.getpid()}-{len(names)}"
    port = free_port()
    names.append(name)
    podman("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080", *args, image.tag)
    return name, f"http://127.0.0.1:{port}"


def wait_ready(url: str, name: str, timeout: float = 60) -> requests.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer = requests.get(url + "/readyz", timeout=5)
            if answer.status_code == 200:
                return answer
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    logs = podman("logs", name, check=False)
    pytest.fail(f"{url}/readyz never answered 200:\n{logs.stdout}{logs.stderr}")


def logged(name: str) -> str:
    return podman("logs", name).stdout


def hook_pids(logs: str, hook: str) -> list[str]:
    """The processes in which tests/apps/boxed.py's ``hook`` ran, as they logged it."""
    return re.findall(rf"^{hook} hook ran in (\d+)$", logs, re.M)


def stop_during_a_slow_request(url: str, name: str, stop: Callable[[], object]) -> str:
    """Call ``stop`` while a slow request is in flight; check that the request completes
    and that the shutdown hooks ran in every process that ran the start-up hooks (each
    worker); the container's logs."""
    slow = InFlight(url + "/slow", signalled=False)
    wait_for(lambda: "slow request started" in logged(name), "the slow request")
    stop()
    answer = slow.result()
    assert isinstance(answer, requests.Response), answer
    assert (answer.status_code, answer.text) == (200, "slow done")
    logs = logged(name)
    started = hook_pids(logs, "startup")
    assert started, logs
    assert sorted(hook_pids(logs, "shutdown")) == sorted(started), logs
    return logs


def test_image_metadata(image: Image) -> None:
    """The image runs flaskd with the backend it was made for as a numeric non-root user
    with SIGTERM, keeps the HEALTHCHECK (which podman's default OCI format would drop), and
    its venv holds no installer."""
    inspected = json.loads(podman("image", "inspect", image.tag).stdout)[0]
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    assert config["StopSignal"] == "SIGTERM"
    assert "flaskd health" in inspected["Healthcheck"]["Test"][-1]
    entrypoint = config["Entrypoint"]
    assert entrypoint[:4] == ["/opt/venv/bin/python", "-m", "flaskd", "run"]
    flags = SERVERS[image.server]
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        assert f"{flag} {value}" in " ".join(entrypoint)
    # pip ran from its wheel in the build stage: the service's venv has neither pip nor
    # setuptools, only what it runs.
    probe = "import importlib.util as u; print([m for m in ('pip', 'setuptools', 'flask')"
    probe += " if u.find_spec(m)])"
    found = podman("run", "--rm", "--network", "none", "--entrypoint", entrypoint[0], image.tag,
                   "-c", probe)  # fmt: skip
    assert found.stdout.strip() == "['flask']"


def test_run_healthy_then_stop_finishes_the_request(image: Image, container: list[str]) -> None:
    """On a read-only root, on each backend, the HEALTHCHECK turns healthy, requests are
    served with the config file's value, and `podman stop` during a slow request lets it
    finish, runs the shutdown hooks in every worker, and the container exits 0."""
    name, url = start(container, image, "--read-only")
    wait_ready(url, name)
    deadline = time.monotonic() + 60
    while podman("healthcheck", "run", name, check=False).returncode != 0:
        assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
        time.sleep(0.2)
    health = podman("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip()
    assert health == "healthy"
    assert requests.get(url + "/", timeout=5).json()["title"] == "from the image"

    logs = stop_during_a_slow_request(url, name, lambda: podman("stop", "-t", "30", name))
    assert len(hook_pids(logs, "startup")) == image.workers, logs
    assert podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip() == "0"


@on_image("gunicorn")
def test_gunicorn_heartbeat_on_a_tmpfs(
    images: Callable[[str], Image], container: list[str]
) -> None:
    """gunicorn's workers keep their heartbeat files in /tmp, which `podman run --read-only`
    makes a tmpfs (docker needs --tmpfs /tmp; Kubernetes gets a memory emptyDir): never on
    the image's read-only disk."""
    name, url = start(container, images("gunicorn"), "--read-only")
    wait_ready(url, name)
    found = podman(
        "exec", name, "sh", "-c",
        "for fd in /proc/[0-9]*/fd/*; do readlink $fd; done 2>/dev/null | grep wgunicorn-;"
        " grep ' /tmp ' /proc/mounts",
    ).stdout  # fmt: skip
    files = {line.split()[0] for line in found.splitlines() if "wgunicorn-" in line}
    assert len(files) == 2, found  # one per worker
    assert {os.path.dirname(f) for f in files} == {"/tmp"}, found
    assert re.search(r"^tmpfs /tmp tmpfs ", found, re.M), found


@on_image("waitress")
def test_pid1_reaps_orphans(images: Callable[[str], Image], container: list[str]) -> None:
    """A process orphaned inside the container (its parent exited) is reaped when it exits:
    flaskd is PID 1 there, and a zombie would stay for ever."""
    name, url = start(container, images("waitress"), "--read-only")
    wait_ready(url, name)
    pid = requests.get(url + "/orphan", timeout=5).json()["pid"]
    deadline = time.monotonic() + 30
    while (state := requests.get(f"{url}/proc/{pid}", timeout=5).json()["state"]) != "gone":
        assert time.monotonic() < deadline, f"process {pid} stayed in state {state}"
        time.sleep(0.1)


@on_image("waitress")
def test_secret_file_at_the_manifests_path(
    images: Callable[[str], Image], container: list[str], tmp_path: Path
) -> None:
    """`podman run --secret` puts a file at the path the Kubernetes objects mount it, and
    the app reads it through BOXED_API_TOKEN_FILE. (Not --read-only: podman 4.3 cannot
    create a secret's mount point on a read-only root.)"""
    secret = f"flaskd-test-{os.getpid()}"
    (tmp_path / "token").write_text(TOKEN + "\n")
    podman("secret", "create", secret, str(tmp_path / "token"))
    try:
        name, url = start(
            container, images("waitress"), "--secret", f"{secret},target=api_token",
            "-e", "BOXED_API_TOKEN_FILE=/run/secrets/api_token",
        )  # fmt: skip
        wait_ready(url, name)
        assert requests.get(url + "/", timeout=5).json()["token"] == TOKEN
    finally:
        podman("rm", "-f", "-t", "0", *container, check=False)
        podman("secret", "rm", secret, check=False)


@on_image("waitress")
def test_kube_play(images: Callable[[str], Image], app_dir: Path, tmp_path: Path) -> None:
    """`podman kube play` of `flaskd kube`'s objects: the pod becomes ready, the ConfigMap's
    config file and a secret file reach the app, and stopping the app's container before
    `podman kube down` lets a request in flight finish and the shutdown hooks run (podman
    4.3's `kube down` alone kills at once: docs/containers.md). Two changes to the objects
    for podman 4.3: the port is published on 127.0.0.1 (hostPort/hostIP), and, since podman
    4.3 crashes on a Secret mounted as a volume (a nil pointer in VolumeFromSecret), the
    same file is handed through a ConfigMap volume at the same path; the Secret itself is
    checked by tests/test_container.py."""
    image = images("waitress")
    name = f"boxed-{os.getpid()}"  # pods are named after the Deployment: one per test run
    config_dir = tmp_path / "cfg"
    config_dir.mkdir()
    shutil.copy(app_dir / "boxed.py", config_dir / "boxed.py")
    (config_dir / "boxed.toml").write_text('title = "from the ConfigMap"\n')
    done = run(
        [*FLASKD, "kube", "boxed.py", "--name", name, "--image", f"{REPOSITORY}@{image.digest}",
         "--config", "boxed.toml", "--replicas", "1", "--graceful-timeout", "20",
         "--output", str(tmp_path)],
        cwd=config_dir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = (tmp_path / f"{name}.yaml").read_text()
    port = free_port()
    published = "          protocol: TCP\n        env:"
    secret_volume = (
        f"        secret:\n          secretName: {name}-secrets\n          defaultMode: 288"
    )
    assert published in text
    assert secret_volume in text
    text = text.replace(
        published,
        f"          protocol: TCP\n          hostPort: {port}\n          hostIP: 127.0.0.1\n"
        "        env:",
    ).replace(secret_volume, f"        configMap:\n          name: {name}-secret-files")
    text += (
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-secret-files\n"
        f"  namespace: {name}\ndata:\n  api_token: {TOKEN}\n"
    )
    play = tmp_path / "play.yaml"
    play.write_text(text)
    url = f"http://127.0.0.1:{port}"
    pod_container = f"{name}-pod-0-{name}"
    podman("kube", "play", str(play))
    try:
        wait_ready(url, pod_container)
        assert requests.get(url + "/", timeout=5).json() == {
            "title": "from the ConfigMap",
            "token": TOKEN,
        }
        stop_during_a_slow_request(
            url, pod_container, lambda: podman("stop", "-t", "30", pod_container)
        )
        exited = podman("inspect", "--format", "{{.State.ExitCode}}", pod_container).stdout
        assert exited.strip() == "0"
    finally:
        podman("kube", "down", str(play), check=False)
