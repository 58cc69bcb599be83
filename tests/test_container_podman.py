"""`flaskd container` and `flaskd kube` for real, under podman (Debian's podman 4.3).

There is no image registry here: the base image is a Debian tree with python3 and
python3-venv made by scripts/podman-base (debootstrap, then ``podman import``), cached
in /var/cache/flaskd-test and in root's podman storage. The image of tests/apps/boxed.py
is built from `flaskd container`'s output with no network; containers publish their
port on 127.0.0.1 only. podman reads tests/podman/containers.conf (CONTAINERS_CONF):
runc, as crun refuses this machine's hybrid cgroups, and no default ulimits, as the
open-files hard limit here is below podman's default. With no systemd as PID 1 podman
cannot schedule health checks: the tests run the image's HEALTHCHECK with
``podman healthcheck run``, which records the status as the timer would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from conftest import APPS, FLASKD, ROOT, InFlight, free_port, run, wait_for

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="podman's image store here is root's"),
    pytest.mark.timeout(600),
]

BASE = "localhost/flaskd-test-debian:bookworm"
CONF = ROOT / "tests" / "podman" / "containers.conf"
TAG = f"localhost/flaskd-test-boxed:{os.getpid()}"
TOKEN = "t0ken-from-a-file"


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


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/apps/boxed.py with a config file beside it."""
    where = tmp_path_factory.mktemp("boxed")
    shutil.copy(APPS / "boxed.py", where / "boxed.py")
    (where / "boxed.toml").write_text('title = "from the image"\n')
    return where


@pytest.fixture(scope="module")
def image(app_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The image built from `flaskd container`'s output with no network; its digest."""
    if shutil.which("podman") is None:
        pytest.fail("podman is missing: ./scripts/test installs it")
    made = subprocess.run([ROOT / "scripts" / "podman-base", BASE], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    context = tmp_path_factory.mktemp("context")
    done = run(
        [*FLASKD, "container", "boxed.py", "--config", "boxed.toml", "--graceful-timeout", "20",
         "--base-image", BASE, "--output", str(context)],
        cwd=app_dir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    podman("build", "-q", "--pull=never", "--network", "none", "--format", "docker", "-t", TAG,
           str(context))  # fmt: skip
    yield podman("image", "inspect", "--format", "{{.Digest}}", TAG).stdout.strip()
    podman("rmi", "-f", TAG, check=False)


@pytest.fixture
def container(image: str) -> Iterator[list[str]]:
    """Names of containers a test starts (removed at the end)."""
    names: list[str] = []
    yield names
    for name in names:
        podman("rm", "-f", "-t", "0", name, check=False)


def start(names: list[str], *args: str) -> tuple[str, str]:
    """Run the image detached with ``args``, its port on 127.0.0.1; (name, base URL)."""
    name = f"flaskd-test-{os.getpid()}-{len(names)}"
    port = free_port()
    names.append(name)
    podman("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080", *args, TAG)
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


def test_image_metadata(image: str) -> None:
    """The image runs flaskd as a numeric non-root user with SIGTERM, and keeps the
    HEALTHCHECK (which podman's default OCI format would drop)."""
    inspected = json.loads(podman("image", "inspect", TAG).stdout)[0]
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    assert config["StopSignal"] == "SIGTERM"
    assert "flaskd health" in inspected["Healthcheck"]["Test"][-1]
    assert config["Entrypoint"][:4] == ["/opt/venv/bin/python", "-m", "flaskd", "run"]


def test_run_healthy_then_stop_finishes_the_request(container: list[str]) -> None:
    """On a read-only root, the HEALTHCHECK turns healthy, requests are served with the
    config file's value, and `podman stop` during a slow request lets it finish and the
    container exits 0."""
    name, url = start(container, "--read-only")
    wait_ready(url, name)
    deadline = time.monotonic() + 60
    while podman("healthcheck", "run", name, check=False).returncode != 0:
        assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
        time.sleep(0.2)
    health = podman("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip()
    assert health == "healthy"
    assert requests.get(url + "/", timeout=5).json()["title"] == "from the image"

    slow = InFlight(url + "/slow", signalled=False)
    wait_for(lambda: "slow request started" in podman("logs", name).stdout, "the slow request")
    podman("stop", "-t", "30", name)
    answer = slow.result()
    assert isinstance(answer, requests.Response), answer
    assert (answer.status_code, answer.text) == (200, "slow done")
    assert podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip() == "0"


def test_pid1_reaps_orphans(container: list[str]) -> None:
    """A process orphaned inside the container (its parent exited) is reaped when it exits:
    flaskd is PID 1 there, and a zombie would stay for ever."""
    name, url = start(container, "--read-only")
    wait_ready(url, name)
    pid = requests.get(url + "/orphan", timeout=5).json()["pid"]
    deadline = time.monotonic() + 30
    while (state := requests.get(f"{url}/proc/{pid}", timeout=5).json()["state"]) != "gone":
        assert time.monotonic() < deadline, f"process {pid} stayed in state {state}"
        time.sleep(0.1)


def test_secret_file_at_the_manifests_path(container: list[str], tmp_path: Path) -> None:
    """`podman run --secret` puts a file at the path the Kubernetes objects mount it, and
    the app reads it through BOXED_API_TOKEN_FILE. (Not --read-only: podman 4.3 cannot
    create a secret's mount point on a read-only root.)"""
    secret = f"flaskd-test-{os.getpid()}"
    (tmp_path / "token").write_text(TOKEN + "\n")
    podman("secret", "create", secret, str(tmp_path / "token"))
    try:
        name, url = start(
            container, "--secret", f"{secret},target=api_token",
            "-e", "BOXED_API_TOKEN_FILE=/run/secrets/api_token",
        )  # fmt: skip
        wait_ready(url, name)
        assert requests.get(url + "/", timeout=5).json()["token"] == TOKEN
    finally:
        podman("rm", "-f", "-t", "0", *container, check=False)
        podman("secret", "rm", secret, check=False)


def test_kube_play(image: str, app_dir: Path, tmp_path: Path) -> None:
    """`podman kube play` of `flaskd kube`'s objects: the pod becomes ready, and the
    ConfigMap's config file and a secret file reach the app. Two changes to the objects for
    podman 4.3: the port is published on 127.0.0.1 (hostPort/hostIP), and, since podman 4.3
    crashes on a Secret mounted as a volume (a nil pointer in VolumeFromSecret), the same
    file is handed through a ConfigMap volume at the same path; the Secret itself is
    checked by tests/test_container.py."""
    config_dir = tmp_path / "cfg"
    config_dir.mkdir()
    shutil.copy(app_dir / "boxed.py", config_dir / "boxed.py")
    (config_dir / "boxed.toml").write_text('title = "from the ConfigMap"\n')
    done = run(
        [*FLASKD, "kube", "boxed.py", "--image", f"{TAG.rpartition(':')[0]}@{image}",
         "--config", "boxed.toml", "--replicas", "1", "--graceful-timeout", "20",
         "--output", str(tmp_path)],
        cwd=config_dir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "boxed.yaml").read_text()
    port = free_port()
    published = "          protocol: TCP\n        env:"
    secret_volume = (
        "        secret:\n          secretName: boxed-secrets\n          defaultMode: 288"
    )
    assert published in text
    assert secret_volume in text
    text = text.replace(
        published,
        f"          protocol: TCP\n          hostPort: {port}\n          hostIP: 127.0.0.1\n"
        "        env:",
    ).replace(secret_volume, "        configMap:\n          name: boxed-secret-files")
    text += (
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: boxed-secret-files\n"
        f"  namespace: boxed\ndata:\n  api_token: {TOKEN}\n"
    )
    play = tmp_path / "play.yaml"
    play.write_text(text)
    url = f"http://127.0.0.1:{port}"
    podman("kube", "play", str(play))
    try:
        wait_ready(url, "boxed-pod-0-boxed")
        assert requests.get(url + "/", timeout=5).json() == {
            "title": "from the ConfigMap",
            "token": TOKEN,
        }
    finally:
        podman("kube", "down", str(play), check=False)
