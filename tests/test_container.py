"""`flaskd container` and `flaskd kube`: the text, the static checkers' verdict, what is refused.

The Containerfile is judged by hadolint and checkov, the Kubernetes objects by checkov
and by kubernetes-validate (strict) against two Kubernetes versions; the tools live in
the tools venv .tools/ that ./scripts/test installs from scripts/tools-requirements.txt.
tests/test_container_podman.py builds and runs them for real.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from conftest import APPS, CONTAINER_TIMEOUT, EXAMPLE, FLASKD, ROOT, run
from flaskd import ConfigError
from flaskd._deployment import describe
from flaskd.container import UID, make_image
from flaskd.kube import make_manifests
from flaskd.kube._yaml import dump
from flaskd.systemd import render

pytestmark = pytest.mark.timeout(300)

TOOLS = ROOT / ".tools" / "bin"
#: Two supported Kubernetes versions the objects must validate against.
KUBE_VERSIONS = ("1.31.0", "1.35.0")
IMAGE = "registry.example/boxed:1.0"
READ_YAML = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"


def tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(
            f"{path} is missing: ./scripts/test installs it (scripts/tools-requirements.txt)"
        )
    return str(path)


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A copy of tests/apps/boxed.py with a config file beside it."""
    shutil.copy(APPS / "boxed.py", tmp_path / "boxed.py")
    (tmp_path / "boxed.toml").write_text('title = "from the config file"\n')
    return tmp_path


def test_containerfile_hardening(app_dir: Path) -> None:
    """The Containerfile runs flaskd as PID 1 (exec form) as a numeric non-root user, with
    the host, port, probe paths and config file set in the image and a HEALTHCHECK."""
    image = make_image(str(app_dir / "boxed.py"), config_file=str(app_dir / "boxed.toml"))
    text = image.containerfile
    assert re.findall(r"^FROM .*", text, re.M) == [
        "FROM ${BASE_IMAGE}:${BASE_TAG} AS build",
        "FROM ${BASE_IMAGE}:${BASE_TAG}",
    ]
    assert "--no-index --find-links=/wheels" in text
    assert f"USER {UID}:{UID}" in text
    assert UID >= 10000
    assert "STOPSIGNAL SIGTERM" in text
    assert "FLASKD_HOST=0.0.0.0" in text
    assert "PORT=8080" in text
    assert "FLASKD_READY_PATH=/readyz" in text
    assert "FLASKD_LIVE_PATH=/livez" in text
    assert "BOXED_CONFIG=/etc/boxed/boxed.toml" in text
    health = re.search(r"^HEALTHCHECK .*\n    CMD (.*)$", text, re.M)
    assert health is not None
    assert "flaskd health" in json.loads(health[1])[2]
    entry = re.search(r"^ENTRYPOINT (.*)$", text, re.M)
    assert entry is not None
    assert json.loads(entry[1])[:5] == ["/opt/venv/bin/python", "-m", "flaskd", "run", "boxed.py"]


def test_dependencies_say_where_they_come_from(app_dir: Path) -> None:
    """Without a requirements file the app's imports name the packages; with one, it does."""
    image = make_image(str(app_dir / "boxed.py"))
    assert "the app's imports (Flask==" in image.requirements.origin
    (app_dir / "requirements.txt").write_text("flask\n")
    image = make_image(str(app_dir / "boxed.py"))
    assert image.requirements.origin == f"dependencies from {app_dir / 'requirements.txt'}"
    assert image.requirements.args[:2] == ["-r", str(app_dir / "requirements.txt")]


def test_build_context_and_objects_pass_the_reviewers_tools(app_dir: Path, tmp_path: Path) -> None:
    """The written build context has the wheels pinned and its Containerfile passes hadolint
    with no warning; the Kubernetes objects (with an autoscaler and a state volume too)
    validate strictly against two Kubernetes versions; and checkov (one run for all, as it
    takes seconds to start) fails none of its Dockerfile and Kubernetes checks, skipping
    only the digest one for an image given by tag, with its reason."""
    scan = tmp_path / "scan"  # what checkov looks at
    out = tmp_path / "ctx"
    done = run(
        [*FLASKD, "container", "boxed.py", "--output", str(out)],
        cwd=app_dir, timeout=CONTAINER_TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Python packages: no requirements.txt" in done.stderr
    pins = (out / "wheels" / "requirements.txt").read_text().split()
    assert any(p.startswith("flaskd==") for p in pins)
    assert any(p.startswith("flask==") for p in pins)
    assert (out / "app" / "boxed.py").is_file()
    installer = [p.name for p in (out / "installer").iterdir()]
    assert installer == [f"pip-{metadata.version('pip')}-py3-none-any.whl"]
    assert (
        f"/opt/venv/bin/python /installer/{installer[0]}/pip install"
        in (out / "Containerfile").read_text()
    )
    assert (out / ".containerignore").is_file()
    lint = subprocess.run(
        [tool("hadolint"), str(out / "Containerfile")], capture_output=True, text=True
    )
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, "")
    (scan / "image").mkdir(parents=True)
    shutil.copy(out / "Containerfile", scan / "image" / "Dockerfile")  # checkov goes by name

    done = run(
        [*FLASKD, "kube", "boxed.py", "--image", IMAGE, "--config", "boxed.toml",
         "--max-replicas", "5", "--output", str(scan / "tagged")],
        cwd=app_dir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    digest = "sha256:" + "0" * 64
    done = run(
        [*FLASKD, "kube", "boxed.py", "--image", f"{IMAGE}@{digest}", "--replicas", "1",
         "--state", "title=title.txt", "--output", str(scan / "pinned")],
        cwd=app_dir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifests = [str(scan / "tagged" / "boxed.yaml"), str(scan / "pinned" / "boxed.yaml")]
    for version in KUBE_VERSIONS:
        check = subprocess.run(
            [tool("kubernetes-validate"), "--strict", "--quiet", "-k", version, *manifests],
            capture_output=True, text=True,
        )  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
    assert "HorizontalPodAutoscaler" in (scan / "tagged" / "boxed.yaml").read_text()
    assert "PersistentVolumeClaim" in (scan / "pinned" / "boxed.yaml").read_text()

    assert _checkov(scan) == {
        "/image/Dockerfile": {"failed": [], "skipped": []},
        "/tagged/boxed.yaml": {"failed": [], "skipped": ["CKV_K8S_43"]},
        "/pinned/boxed.yaml": {"failed": [], "skipped": []},
    }


def test_kube_objects(app_dir: Path) -> None:
    """The Deployment rolls with no pod less, probes flaskd's paths, outlasts the graceful
    timeout on stop, is hardened, and reads its secrets from files of a Secret that carries
    no values, in a namespace of its own."""
    m = make_manifests(
        str(app_dir / "boxed.py"),
        image=IMAGE,
        config_file=str(app_dir / "boxed.toml"),
        serve_flags={"graceful_timeout": "20"},
    )
    objs = m.objects
    assert {o["metadata"].get("namespace", o["metadata"]["name"]) for o in objs.values()} == {
        "boxed"
    }
    dep = objs["deployment"]["spec"]
    assert dep["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = dep["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["terminationGracePeriodSeconds"] > 20
    (c,) = pod["containers"]
    assert (
        c["startupProbe"]["httpGet"]["path"] == c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    )
    assert c["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert set(c["resources"]) == {"requests", "limits"}
    sc = c["securityContext"]
    assert sc["runAsNonRoot"]
    assert sc["runAsUser"] == UID
    assert sc["readOnlyRootFilesystem"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["BOXED_API_TOKEN_FILE"] == "/run/secrets/api_token"
    assert env["BOXED_CONFIG"] == "/etc/boxed/boxed.toml"
    assert "BOXED_API_TOKEN" not in env
    mounts = {v["mountPath"]: v["name"] for v in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/tmp"]]["emptyDir"]["medium"] == "Memory"  # a tmpfs, as podman's
    assert volumes[mounts["/run/secrets"]]["secret"]["secretName"] == "boxed-secrets"
    assert volumes[mounts["/etc/boxed"]]["configMap"]["name"] == "boxed-config"
    assert objs["configmap"]["data"] == {"boxed.toml": 'title = "from the config file"\n'}
    assert set(objs["secret"]) == {"apiVersion", "kind", "metadata", "type"}
    assert "kubectl create secret generic boxed-secrets -n boxed" in m.text
    ports = objs["networkpolicy"]["spec"]["ingress"]
    assert ports == [{"ports": [{"port": 8080, "protocol": "TCP"}]}]
    assert {"pdb", "service"} <= set(objs)
    assert "hpa" not in objs


def test_strict_validation_sees_a_mistake(tmp_path: Path) -> None:
    """kubernetes-validate --strict rejects a misspelt field: the check above can fail."""
    m = make_manifests(str(APPS / "boxed.py"), image=IMAGE)
    bad = tmp_path / "bad.yaml"
    bad.write_text(m.text.replace("revisionHistoryLimit", "revisionHistoryLimt"))
    check = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBE_VERSIONS[0], str(bad)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert check.returncode != 0
    assert "revisionHistoryLimt" in check.stdout + check.stderr


def test_yaml_reads_back_the_same(tmp_path: Path) -> None:
    """The YAML writer's output is read back as the same data by PyYAML (strings that look
    like booleans, numbers or keys, multi-line texts, empty collections)."""
    data = {
        "a": ["yes", "no", "on", "1.0", "007", "1e3", "null", "~", "", "a: b", "#x", "- x"],
        "b": {"text": "line one\n  two\n\nthree\n", "nested": [{"k": 1, "l": [True, False]}]},
        "c": {},
        "d": [],
        "e": "plain words here",
        "f": 'quote " and \\ backslash',
        "g": [[1, 2], {"x": None}],
        "h": "ends without newline\nsecond",
    }
    path = tmp_path / "data.yaml"
    path.write_text(dump(data))
    python = TOOLS / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: ./scripts/test installs the tools venv")
    loaded = subprocess.run(
        [str(python), "-c", READ_YAML, str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(loaded.stdout) == data


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["container", "boxed.py", "--host", "0.0.0.0"], "--host: an image listens on 0.0.0.0"),
        (["container", "boxed.py", "--port", "80"], "flag --port: port 80 is below 1024"),
        (["container", "boxed.py", "--env-file", "x.env"], "--env-file: an image does not carry"),
        (["container", "boxed.py", "--base-image", "debian"], "--base-image 'debian': give a tag"),
        (["container", "boxed.py", "--name", "Boxed_1"], "--name 'Boxed_1': not a name Kubernetes"),
        (["kube", "boxed.py", "--image", IMAGE, "--namespace", "default"], "--namespace default:"),
        (["kube", "boxed.py", "--image", "boxed"], "--image 'boxed': give a tag"),
        (["kube", "boxed.py", "--image", "boxed:latest"], "--image 'boxed:latest': give a tag"),
        (["kube", "boxed.py", "--image", IMAGE, "--state", "title"], "--state: the state volume"),
        (
            ["kube", "boxed.py", "--image", IMAGE, "--secret", "nope"],
            "--secret 'nope': the app has",
        ),
        (
            ["kube", "boxed.py", "--image", IMAGE, "--max-replicas", "2"],
            "--max-replicas 2: expected",
        ),
        (["kube", "boxed.py", "--image", IMAGE, "--server", "dev"], "the dev server has no place"),
    ],
)
def test_refused_in_one_line(args: list[str], message: str, app_dir: Path, invoke) -> None:
    """What would not start or not apply is one line naming the flag, exit 2 (in-process:
    tests/test_cli.py shows the process ends so)."""
    done = invoke(args, cwd=app_dir)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0]


def test_refuses_a_probe_path_the_app_routes(tmp_path: Path) -> None:
    """An app that routes /readyz itself is refused: the image's probe would hide it."""
    (tmp_path / "routed.py").write_text(
        "from flask import Flask\napp = Flask(__name__)\n\n@app.get('/readyz')\n"
        "def mine():\n    return 'mine'\n"
    )
    with pytest.raises(ConfigError, match="ready_path /readyz is a route of the app"):
        make_image(str(tmp_path / "routed.py"))
    done = run([*FLASKD, "kube", "routed.py", "--image", IMAGE], cwd=tmp_path)
    assert done.returncode == 2
    assert "the image's FLASKD_READY_PATH" in done.stderr
    # Another path given by the user is taken instead, in the image and the probes.
    image = make_image(str(tmp_path / "routed.py"), serve_flags={"ready_path": "/ready"})
    assert "FLASKD_READY_PATH=/ready " in image.containerfile


def _checkov(directory: Path) -> dict[str, dict[str, list[str]]]:
    """checkov's Dockerfile and Kubernetes checks on ``directory``: for each file with a
    passed check, the checks failed and the checks skipped."""
    done = subprocess.run(
        [tool("checkov"), "-d", str(directory), "--framework", "dockerfile", "kubernetes",
         "--output", "json", "--skip-download"],
        capture_output=True, text=True,
    )  # fmt: skip
    try:
        reports = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov gave no report (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    files: dict[str, dict[str, list[str]]] = {}
    for report in reports if isinstance(reports, list) else [reports]:
        results = report["results"]
        for check in results["passed_checks"]:
            files.setdefault(check["file_path"], {"failed": [], "skipped": []})
        for kind in ("failed", "skipped"):
            for check in results[f"{kind}_checks"]:
                entry = files.setdefault(check["file_path"], {"failed": [], "skipped": []})
                entry[kind].append(check["check_id"])
    return {path: {k: sorted(v) for k, v in entry.items()} for path, entry in files.items()}


@pytest.fixture
def own_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Forget the modules a test imported in-process (and its sys.path): a later test that
    loads an app of the same name from elsewhere must not get this one."""
    monkeypatch.setattr(sys, "path", [*sys.path])
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


@pytest.mark.usefixtures("own_imports")
def test_data_file_warning_in_each_targets_words(tmp_path: Path) -> None:
    """An option naming a relative data file (notes' DB) is pointed out in each target's
    terms: the unit's working directory and StateDirectory=, the image's /app and its state
    volume, the pod's read-only root and a PersistentVolumeClaim; --state silences it."""
    shutil.copy(EXAMPLE / "notes.py", tmp_path / "notes.py")
    target = str(tmp_path / "notes.py")
    (unit,) = render(describe(target)).warnings
    (image,) = make_image(target).warnings
    (pod,) = make_manifests(target, image=IMAGE).warnings
    for warning in (unit, image, pod):
        assert warning.startswith("DB is 'notes.sqlite', a file in "), warning
        assert "pass --state db to keep it in " in warning, warning
    assert "working directory, which is read-only under this unit" in unit
    assert "(notes's StateDirectory=)" in unit
    assert "the image's user cannot write" in image
    assert "podman run -v notes-data:/var/lib/notes" in image
    assert "read-only in the pod (readOnlyRootFilesystem)" in pod
    assert "PersistentVolumeClaim mounted at /var/lib/notes" in pod
    assert "--replicas 1" in pod
    for warning in (image, pod):
        assert "StateDirectory" not in warning, warning
        assert "unit" not in warning, warning
    assert render(describe(target, state=["db"])).warnings == []
    assert make_image(target, state=["db"]).warnings == []
    assert make_manifests(target, image=IMAGE, state=["db"], replicas=1).warnings == []
