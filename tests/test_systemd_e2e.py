"""`flaskd systemd --install` under a real systemd: a Debian container booted with systemd-nspawn.

The example app (with tests/apps/notes_e2e.py: a slow start, a slow request)
is installed in /opt/notes with its own venv inside the container, and its
unit generated and installed there by `flaskd systemd`. The container shares
the host's network, so the tests talk HTTP to it on free host ports.

Needs root; skipped otherwise. The root tree is built once by
scripts/nspawn-root and cached in /var/cache/flaskd-test; what the tests
change in it is lost at power-off (--volatile=overlay). A container that
cannot boot fails the tests: it never skips them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from conftest import ROOT, InFlight, free_port
from flaskd._envfile import read_env_file

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="systemd-nspawn needs root"),
    pytest.mark.timeout(600),
]

TREE = Path("/var/cache/flaskd-test/bookworm-root")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: The app's start-up hook sleeps this long: systemd must see it activating meanwhile.
START_DELAY = 2


def _program(pid: int) -> str:
    """The name of the program process ``pid`` runs; "" if it is gone (nspawn's first child
    may be a short-lived one before the container's systemd)."""
    try:
        return Path(os.readlink(f"/proc/{pid}/exe")).name
    except OSError:
        return ""


class Machine:
    """A booted container, driven with nsenter (machinectl needs a host D-Bus it lacks here)."""

    def __init__(self, binds: dict[Path, str], log: Path) -> None:
        nspawn = [
            "systemd-nspawn", "-q", "-D", str(TREE), "--boot", "--register=no", "--keep-unit",
            "-M", f"flaskd-e2e-{os.getpid()}", "--volatile=overlay",
            *(f"--bind-ro={host}:{inside}" for host, inside in binds.items()),
        ]  # fmt: skip
        # nspawn keeps its state in /run/systemd/nspawn: give it a private one. The directory
        # exists only where nspawn ran before (on a fresh machine /run/systemd may not either).
        script = (
            "mkdir -p /run/systemd/nspawn && mount -t tmpfs tmpfs /run/systemd/nspawn && exec "
            + shlex.join(nspawn)
        )
        self.log = log
        self._out = log.open("wb")
        self.nspawn = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
            env={**os.environ, "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"},
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        self.pid1 = 0

    def _find_pid1(self) -> int:
        children = Path(f"/proc/{self.nspawn.pid}/task/{self.nspawn.pid}/children")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                pytest.fail(f"systemd-nspawn exited {self.nspawn.returncode}:\n{self.output}")
            found = children.read_text().split() if children.exists() else []
            if found and _program(int(found[0])) == "systemd":
                return int(found[0])
            time.sleep(0.05)
        pytest.fail(f"the container's systemd did not start:\n{self.output}")

    def wait_booted(self, timeout: float = 60) -> None:
        """Wait until the boot finished; fail with the console output if it does not."""
        self.pid1 = self._find_pid1()
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            # Until systemd listens on its private socket, systemctl cannot connect.
            state = self.run("systemctl", "is-system-running", "--wait", check=False).strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.1)
        pytest.fail(f"the container did not boot ({state}):\n{self.output}")

    @property
    def output(self) -> str:
        self._out.flush()
        return self.log.read_text(errors="replace")

    def run(self, *args: str, check: bool = True, timeout: float = 60) -> str:
        """Run a command in the container; return its output (fail the test if it fails)."""
        command = ["nsenter", "-t", str(self.pid1), "-a", "env", "-i", f"PATH={PATH}", *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if check and done.returncode != 0:
            pytest.fail(f"{shlex.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
        return done.stdout + done.stderr

    def sh(self, script: str, check: bool = True) -> str:
        return self.run("sh", "-c", script, check=check)

    def show(self, unit: str, prop: str) -> str:
        return self.run("systemctl", "show", unit, "-p", prop, "--value").strip()

    def poweroff(self) -> None:
        if self.nspawn.poll() is None:
            if self.pid1:
                self.run("systemctl", "poweroff", check=False)
            else:
                self.nspawn.terminate()  # nspawn powers a booting container off on SIGTERM
            try:
                self.nspawn.wait(30)
            except subprocess.TimeoutExpired:
                self.nspawn.kill()
                self.nspawn.wait()
        self._out.close()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _wheelhouse(tmp: Path) -> Path:
    """Wheels of flaskd and its dependencies, built on the host (the container has no index)."""
    wheels = tmp / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "-w",
            str(wheels),
            f"{ROOT}[gunicorn,granian]",
        ],
        check=True,
        capture_output=True,
    )
    return wheels


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    """A booted container with the example app and its venv in /opt/notes."""
    for tool in ("systemd-nspawn", "debootstrap", "nsenter", "unshare"):
        assert shutil.which(tool), f"{tool} is missing: ./scripts/test installs it"
    subprocess.run([str(ROOT / "scripts" / "nspawn-root"), str(TREE)], check=True, timeout=900)
    tmp = tmp_path_factory.mktemp("e2e")
    binds = {_wheelhouse(tmp): "/srv/wheels", ROOT: "/srv/proj"}
    machine = Machine(binds, tmp / "nspawn.log")
    try:
        machine.wait_booted()
        machine.sh(
            "mkdir /opt/notes && cd /opt/notes"
            " && cp /srv/proj/examples/notes/notes.py /srv/proj/tests/apps/notes_e2e.py ."
            " && python3 -m venv venv"
            " && venv/bin/pip install -q --no-index -f /srv/wheels 'flaskd[gunicorn,granian]'"
            f" && echo E2E_START_DELAY={START_DELAY} > /etc/notes.env"
        )
        yield machine
    finally:
        machine.poweroff()


@pytest.fixture(scope="module")
def notes(machine: Machine) -> str:
    """The example installed as notes.service (system, dynamic user); its base URL."""
    port = free_port()
    machine.sh(
        "cd /opt/notes && venv/bin/flaskd systemd notes_e2e.py --name notes"
        f" --port {port} --access-log --state db --env-file /etc/notes.env --install"
    )
    return f"http://127.0.0.1:{port}"


def test_activating_until_ready_then_active(machine: Machine, notes: str) -> None:
    """The unit is activating while the start-up hooks run, and active once READY=1 came."""
    machine.run("systemctl", "restart", "--no-block", "notes")
    wait_for(lambda: machine.show("notes", "ActiveState") == "activating", "notes to start")
    wait_for(lambda: machine.show("notes", "ActiveState") == "active", "notes to be active")
    started = int(machine.show("notes", "ExecMainStartTimestampMonotonic"))
    active = int(machine.show("notes", "ActiveEnterTimestampMonotonic"))
    assert active - started >= START_DELAY * 1_000_000
    assert requests.get(notes, timeout=5).json() == {"title": "Notes", "signed": False}


def test_state_survives_a_restart(machine: Machine, notes: str) -> None:
    """A note lands in /var/lib/notes (the state directory) and survives a restart."""
    added = requests.post(f"{notes}/notes", json={"text": "kept"}, timeout=5)
    assert added.status_code == 201
    machine.run("systemctl", "restart", "notes")
    assert {"id": added.json()["id"], "text": "kept"} in requests.get(f"{notes}/notes").json()
    machine.run("test", "-s", "/var/lib/notes/notes.sqlite")


def test_stop_finishes_the_request_in_flight(machine: Machine, notes: str) -> None:
    """`systemctl stop` during a slow request lets it complete, and the unit ends with success."""
    mark = str(time.monotonic_ns())
    slow = InFlight(f"{notes}/slow?mark={mark}", signalled=False)
    journal = ["journalctl", "-u", "notes", "-o", "cat", "--no-pager"]
    wait_for(lambda: f"slow request {mark} started" in machine.run(*journal), "the slow request")
    machine.run("systemctl", "stop", "notes")
    response = slow.result()
    assert isinstance(response, requests.Response)
    assert response.text == "slow done\n"
    assert machine.show("notes", "Result") == "success"
    assert machine.show("notes", "ActiveState") == "inactive"
    machine.run("systemctl", "start", "notes")


def test_killed_main_process_is_restarted(machine: Machine, notes: str) -> None:
    """kill -9 of the main process is followed by a restart (Restart=on-failure)."""
    pid = machine.show("notes", "MainPID")
    restarts = int(machine.show("notes", "NRestarts"))
    machine.sh(f"kill -9 {pid}")
    wait_for(
        lambda: (
            machine.show("notes", "ActiveState") == "active"
            and machine.show("notes", "MainPID") not in (pid, "0")
        ),
        "notes to be restarted",
    )
    assert int(machine.show("notes", "NRestarts")) == restarts + 1
    assert requests.get(notes, timeout=5).status_code == 200


def test_exposure_in_the_running_systemd(machine: Machine, notes: str) -> None:
    """systemd-analyze security, asked of the running manager, rates the unit 1.5 or better."""
    report = machine.run("systemd-analyze", "security", "notes.service")
    match = re.search(r"Overall exposure level for notes\.service: ([\d.]+)", report)
    assert match, report
    assert float(match[1]) <= 1.5


def test_access_log_reaches_the_journal(machine: Machine, notes: str) -> None:
    """--access-log lines end up in the unit's journal."""
    requests.get(f"{notes}/notes?from-the-test", timeout=5)
    wait_for(
        lambda: (
            '"GET /notes?from-the-test HTTP/1.1" 200'
            in machine.run("journalctl", "-u", "notes", "-o", "cat", "--no-pager")
        ),
        "the access log line in the journal",
    )


def test_env_file_is_read_as_systemd_reads_it(machine: Machine, tmp_path: Path) -> None:
    """Every form of line flaskd accepts in an env file gives the values systemd gives the
    service (blanks, both quotes, quotes and # inside a value, = in it, empty values)."""
    lines = [
        "; a comment",
        "  # an indented one, ending in an escaped blank \\ ",
        "T_PLAIN=plain",
        "T_SPACED = two  words  ",
        "\tT_TABS\t=\tx\t",
        "T_SINGLE='a \\ \"b\" $c'",
        'T_DOUBLE="it\'s $HOME"',
        'T_INSIDE=it\'s "x" # not a comment',
        "T_EMPTY=",
        "T_QUOTED_EMPTY=''",
        "T_EQUALS==a=b",
        "T_UTF8=café",
        "T_PADDED=  'x'  ",
    ]
    text = "\n".join(lines) + "\n"
    env_file = tmp_path / "forms.env"
    env_file.write_text(text, encoding="utf-8")
    machine.run("sh", "-c", 'printf %s "$0" > /etc/forms.env', text)
    out = machine.run(
        "systemd-run", "--wait", "--pipe", "--quiet", "-p", "EnvironmentFile=/etc/forms.env",
        "python3", "-c", "import json, os; print(json.dumps(dict(os.environ)))",
    )  # fmt: skip
    seen = json.loads(out.splitlines()[-1])
    read = read_env_file(str(env_file)).values
    assert {k: v for k, v in seen.items() if k.startswith("T_")} == read


def _free_low_port() -> int:
    """A port below 1024 that nothing on the host listens on (the container shares the network)."""
    for port in range(980, 1024):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port below 1024")


def test_socket_activation_on_a_low_port(machine: Machine) -> None:
    """With --socket the service is inactive until the first connection, which it then serves."""
    port = _free_low_port()
    machine.sh(
        "cd /opt/notes && venv/bin/flaskd systemd notes_e2e.py --name notes-socket"
        f" --port {port} --state db --socket --install"
    )
    assert machine.show("notes-socket.socket", "ActiveState") == "active"
    assert machine.show("notes-socket.service", "ActiveState") == "inactive"
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    assert machine.show("notes-socket.service", "ActiveState") == "active"


def test_user_unit_runs_under_a_lingering_user(machine: Machine) -> None:
    """A --user unit installs and serves under the user's own manager, its state in ~."""
    machine.sh("useradd -m alice && loginctl enable-linger alice")
    uid = machine.run("id", "-u", "alice").strip()
    machine.run("systemctl", "start", f"user@{uid}.service")
    port = free_port()
    machine.sh(
        f"cd /opt/notes && runuser -u alice -- env XDG_RUNTIME_DIR=/run/user/{uid}"
        " HOME=/home/alice venv/bin/flaskd systemd notes_e2e.py --user --name notes-user"
        f" --port {port} --state db --install"
    )
    url = f"http://127.0.0.1:{port}"
    assert requests.post(f"{url}/notes", json={"text": "mine"}, timeout=5).status_code == 201
    # %S of a user manager: ~/.config before systemd 254 (Debian 12 has 252), ~/.local/state after.
    machine.sh(
        "test -s /home/alice/.config/notes-user/notes.sqlite"
        " || test -s /home/alice/.local/state/notes-user/notes.sqlite"
    )


@pytest.mark.parametrize("server", ["gunicorn", "granian"])
def test_other_backends_run_hardened(machine: Machine, server: str) -> None:
    """gunicorn and granian, with worker processes, start, serve and stop cleanly in the sandbox."""
    port = free_port()
    name = f"notes-{server}"
    machine.sh(
        f"cd /opt/notes && venv/bin/flaskd systemd notes_e2e.py --name {name} --port {port}"
        f" --state db --server {server} --workers 2 --install"
    )
    url = f"http://127.0.0.1:{port}"
    assert requests.post(f"{url}/notes", json={"text": server}, timeout=5).status_code == 201
    machine.run("systemctl", "stop", name)
    assert machine.show(name, "Result") == "success"


def test_uninstall_removes_the_units(machine: Machine) -> None:
    """--uninstall stops and disables the units it installed, removes their files, keeps the
    state directory."""
    port = free_port()
    machine.sh(
        "cd /opt/notes && venv/bin/flaskd systemd notes_e2e.py --name notes-gone"
        f" --port {port} --state db --socket --install"
    )
    assert machine.show("notes-gone.socket", "LoadState") == "loaded"
    out = machine.sh("/opt/notes/venv/bin/flaskd systemd --name notes-gone --uninstall")
    for kind in ("socket", "service"):
        assert f"removed /etc/systemd/system/notes-gone.{kind}" in out
        assert machine.show(f"notes-gone.{kind}", "LoadState") == "not-found"
    assert "kept the state directory (/var/lib/notes-gone)" in out


def test_app_in_a_home_directory(machine: Machine) -> None:
    """An app and its venv in /home/bob/app get ProtectHome=read-only (yes would hide them) and
    serve: as a dynamic user while the home is 0755 (useradd's mode), as bob once it is 0700
    (adduser's), after a one-line refusal for the dynamic user."""
    machine.sh(
        "useradd -m bob && mkdir /home/bob/app && cp /opt/notes/*.py /home/bob/app"
        " && cd /home/bob/app && python3 -m venv venv"
        " && venv/bin/pip install -q --no-index -f /srv/wheels flaskd"
        " && chown -R bob:bob /home/bob/app"
    )
    for name, home_mode, user in (("notes-home", "755", None), ("notes-bob", "700", "bob")):
        machine.run("chmod", home_mode, "/home/bob")
        port = free_port()
        generate = (
            f"cd /home/bob/app && venv/bin/flaskd systemd notes_e2e.py --name {name}"
            f" --port {port} --state db"
        )
        if user:
            refused = machine.sh(generate, check=False)
            assert "cannot enter /home/bob (mode 0700, owner bob)" in refused
            assert "--service-user bob" in refused
            generate += f" --service-user {user}"
        machine.sh(generate + " --install")
        assert "\nProtectHome=read-only\n" in machine.run("systemctl", "cat", name)
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
        # A dynamic user is named after its unit.
        assert machine.show(name, "User") == (user or name)


def _interfaces(machine: Machine, pid: str) -> set[str]:
    """The network interfaces process ``pid`` of the container sees (its namespace's)."""
    lines = machine.run("cat", f"/proc/{pid}/net/dev").splitlines()[2:]
    return {line.partition(":")[0].strip() for line in lines}


def test_private_network_serves_through_the_socket(machine: Machine) -> None:
    """With --socket --private-network the service has only a loopback of its own, and serves
    through the socket systemd listens on outside it."""
    port = free_port()
    machine.sh(
        "cd /opt/notes && venv/bin/flaskd systemd notes_e2e.py --name notes-private"
        f" --port {port} --state db --socket --private-network --install"
    )
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    pid = machine.show("notes-private.service", "MainPID")
    assert _interfaces(machine, pid) == {"lo"}
    # A namespace of its own, not the container's (which shares the host's network).
    namespaces = machine.run("readlink", f"/proc/{pid}/ns/net", "/proc/1/ns/net").split()
    assert len(set(namespaces)) == 2, namespaces


#: Connects to the unix socket argv[1] and prints the status code of GET /, or "denied".
UNIX_CLIENT = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except PermissionError:
    sys.exit("denied")
s.sendall(b"GET / HTTP/1.0\\r\\nHost: notes\\r\\n\\r\\n")
print(s.makefile("rb").readline().split()[1].decode())
"""


@pytest.mark.parametrize("made_by", ["systemd", "service"])
def test_unix_socket_reachable_by_its_group_only(machine: Machine, made_by: str) -> None:
    """Behind nginx: with --group www-data, the unix socket in /run/NAME/, made by systemd
    (--socket, SocketGroup=) or by the service itself (RuntimeDirectory=, its group), takes
    connections from a process of group www-data, and refuses one outside it."""
    name = f"notes-nginx-{made_by}"
    path = f"/run/{name}/{name}.sock"
    machine.sh(
        f"cd /opt/notes && venv/bin/flaskd systemd notes_e2e.py --name {name} --state db"
        f" --bind unix:{path} --group www-data --forwarded-allow-ips unix"
        + (" --socket" if made_by == "systemd" else "")
        + " --install"
    )
    client = ["python3", "-c", UNIX_CLIENT, path]
    assert machine.run("runuser", "-u", "www-data", "--", *client).strip() == "200"
    assert machine.run("stat", "-c", "%a %G", path).strip() == "660 www-data"
    refused = machine.run("runuser", "-u", "nobody", "--", *client, check=False)
    assert refused.strip() == "denied"
