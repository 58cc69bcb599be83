"""Production serving, the same on every backend: binds, readiness, socket activation,
graceful and forced stops, proxy headers, access log, body limit."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
import requests
from soak_stop import KILLED

from conftest import FLASKD, InFlight, free_port, run, unix_get, wait_for, wait_refused
from flaskd._sockets import addresses, open_sockets

BACKENDS = ["waitress", "gunicorn", "granian"]
PREFORK = ["gunicorn", "granian"]


def skip_unless_installed(backend: str) -> None:
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend whose extra is installed (CI installs them all)."""
    skip_unless_installed(request.param)
    return str(request.param)


def serve(
    spawn, backend: str, *args: str, env: dict[str, str] | None = None, app: str = "hooks.py"
):
    return spawn([*FLASKD, "run", app, "--server", backend, *args], env=env)


def untimed(output: str) -> list[str]:
    """The lines of ``output``, each without the time flaskd's log lines start with."""
    return [
        re.sub(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", "", line)
        for line in output.splitlines()
    ]


def hooks_env(tmp_path: Path) -> dict[str, str]:
    return {"HOOKS_LOG": str(tmp_path / "hooks.log")}


#: (backend, --workers): the pre-fork backends with one worker and with two.
SERVED = [("waitress", 1), ("gunicorn", 1), ("gunicorn", 2), ("granian", 1), ("granian", 2)]


@pytest.fixture(params=SERVED, ids=[f"{b}-{w}" for b, w in SERVED])
def served(request: pytest.FixtureRequest) -> tuple[str, int]:
    """(backend, workers) for each backend whose extra is installed, pre-fork ones twice."""
    backend, workers = request.param
    skip_unless_installed(backend)
    return backend, workers


@pytest.fixture(params=PREFORK)
def prefork(request: pytest.FixtureRequest) -> str:
    """Each backend with worker processes whose extra is installed."""
    skip_unless_installed(request.param)
    return str(request.param)


def test_graceful_stop_refuses_new_connections_and_completes_the_request_in_flight(
    spawn, served: tuple[str, int], tmp_path: Path
) -> None:
    """On SIGTERM the port is closed (a new connection is refused, not left in a listen
    queue) while the request in flight still completes with 200; the shutdown hooks run once
    in each process that ran the start-up hooks; exit code 0."""
    backend, workers = served
    port = free_port()
    proc = serve(
        spawn, backend, "--port", str(port), "--workers", str(workers), env=hooks_env(tmp_path)
    )
    # Every worker started: a granian worker answers once its own hooks ran, and one stopped
    # before its hooks ran runs none (it exits, nothing to undo).
    proc.wait_serving(f"http://127.0.0.1:{port}/")
    request = InFlight(f"http://127.0.0.1:{port}/slow", hold=True)
    proc.signal(signal.SIGTERM)
    wait_refused(port)
    request.release()
    response = request.result()
    assert isinstance(response, requests.Response), response
    assert (response.status_code, response.text) == (200, "slow ok")
    assert proc.wait() == 0
    lines = (tmp_path / "hooks.log").read_text().splitlines()
    assert lines.count("startup first") == workers
    assert lines.count("shutdown first") == workers, proc.output
    # One error a process, from the shutdown hook that fails on purpose: nothing else.
    assert proc.output.count("Traceback") == workers, proc.output


@pytest.mark.parametrize(
    "signals",
    [[signal.SIGTERM, signal.SIGTERM], [signal.SIGQUIT]],
    ids=["second SIGTERM", "SIGQUIT"],
)
def test_quick_stop_cuts_requests(
    spawn, backend: str, tmp_path: Path, signals: list[signal.Signals]
) -> None:
    """A second SIGTERM, or SIGQUIT, does not wait for the request in flight: it is cut, the
    shutdown hooks still run and the process exits 0."""
    port = free_port()
    proc = serve(spawn, backend, "--port", str(port), env=hooks_env(tmp_path))
    proc.wait_http(f"http://127.0.0.1:{port}/")
    request = InFlight(f"http://127.0.0.1:{port}/slow", hold=True)  # never released
    for signum in signals[:-1]:
        proc.signal(signum)
        wait_refused(port)  # the first SIGTERM was taken before the second is sent
    proc.signal(signals[-1])
    assert proc.wait() == 0, proc.output
    assert isinstance(request.result(), requests.RequestException), "the request was not cut"
    assert "shutdown first" in (tmp_path / "hooks.log").read_text()


def test_ready_once_hooks_ran_and_port_answers_then_stopping(
    spawn, served: tuple[str, int], tmp_path: Path
) -> None:
    """sd_notify: READY=1, with MAINPID, comes once from the main process, only when every
    worker ran its (slow) start-up hooks and the port answers; STOPPING=1 on SIGTERM; nothing
    else (gunicorn's own early READY=1 never comes)."""
    backend, workers = served
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(30)
    port = free_port()
    env = {
        **hooks_env(tmp_path),
        "HOOKS_STARTUP_DELAY": "0.5",
        "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
    }
    proc = serve(spawn, backend, "--port", str(port), "--workers", str(workers), env=env)
    message = notify.recv(4096).decode().splitlines()
    assert "READY=1" in message
    assert f"MAINPID={proc.popen.pid}" in message
    assert any(f"127.0.0.1:{port}" in line for line in message), message
    log = (tmp_path / "hooks.log").read_text()
    assert log.startswith("startup first\n")
    assert log.splitlines().count("startup second") == workers  # every worker's hooks ran
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "ok"
    proc.signal(signal.SIGTERM)
    assert "STOPPING=1" in notify.recv(4096).decode().splitlines()
    assert proc.wait() == 0
    notify.setblocking(False)  # what the process sent is queued by now
    with pytest.raises(BlockingIOError):
        notify.recv(4096)
    notify.close()


#: How a failing start-up hook is run: in the one process, in each worker, preloaded.
HOOK_RUNS = [
    ("waitress", []),
    *[(b, how) for b in PREFORK for how in ([], ["--workers", "2"], ["--preload"])],
]


@pytest.mark.parametrize(
    ("backend_name", "how"), HOOK_RUNS, ids=[" ".join([b, *h]) for b, h in HOOK_RUNS]
)
def test_failing_startup_hook_exits_3(spawn, backend_name: str, how: list[str]) -> None:
    """A start-up hook that raises, in the one process, in each worker or preloaded in the
    main process, makes the server exit 3 with the one-line error, said once."""
    skip_unless_installed(backend_name)
    proc = serve(spawn, backend_name, "--port", str(free_port()), *how, app="bad_hook.py")
    assert proc.wait() == 3
    message = "start-up hook bad_hook:connect failed: ConnectionError: database at"
    assert proc.output.count(message) == 1, proc.output
    assert "Traceback" not in proc.output
    if backend_name == "gunicorn" and how == ["--preload"]:
        assert "Booting worker" not in proc.output  # it failed before any worker was forked


def test_hooks_run_in_each_worker_not_the_main_process(spawn, prefork: str, tmp_path: Path) -> None:
    """With 2 workers the start-up and shutdown hooks run once in each worker, never in the
    main process, and only the workers serve."""
    log = tmp_path / "pids"
    proc, port, workers = serve_two_workers(spawn, prefork, log)
    served_by = {served_by_pid(port) for _ in range(20)}
    assert noted(log) == in_each(workers, "startup")
    assert served_by <= set(workers)
    assert proc.stop() == 0
    assert noted(log) == in_each(workers, "startup", "shutdown")


def test_preload_runs_hooks_once_in_the_main_process(spawn, prefork: str, tmp_path: Path) -> None:
    """--preload runs the start-up hooks once, in the main process, before the 2 workers
    fork; they serve, and the shutdown hooks run once, there too."""
    log = tmp_path / "pids"
    port = free_port()
    proc = serve(
        spawn, prefork, "--port", str(port), "--workers", "2", "--preload",
        env={"GRANIAN_ENV_LOG": str(log)}, app="granian_env.py",
    )  # fmt: skip
    main = proc.popen.pid
    proc.wait_http(f"http://127.0.0.1:{port}/pid")
    served_by = {served_by_pid(port) for _ in range(20)}
    assert log.read_text().splitlines() == [f"startup {main}"]
    assert main not in served_by
    assert proc.stop() == 0
    assert log.read_text().splitlines() == [f"startup {main}", f"shutdown {main}"]


def served_by_pid(port: int) -> int:
    """The PID of the process that answered a request on a new connection."""
    url = f"http://127.0.0.1:{port}/pid"
    return int(requests.get(url, headers={"Connection": "close"}, timeout=5).json())


def test_abstract_notify_socket(spawn, tmp_path: Path) -> None:
    """An abstract NOTIFY_SOCKET (@name), as systemd may give, receives READY=1."""
    name = f"flaskd-test-{time.monotonic_ns()}"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind("\0" + name)
    notify.settimeout(30)
    port = free_port()
    proc = serve(
        spawn,
        "waitress",
        "--port",
        str(port),
        env={**hooks_env(tmp_path), "NOTIFY_SOCKET": "@" + name},
    )
    assert "READY=1" in notify.recv(4096).decode()
    proc.stop()
    notify.close()


@pytest.mark.skipif(shutil.which("systemd-socket-activate") is None, reason="needs systemd's tools")
def test_socket_activation(spawn, backend: str, tmp_path: Path) -> None:
    """Under systemd-socket-activate the service serves on the socket it is handed (fd 3)."""
    port = free_port()
    activate = ["systemd-socket-activate", "-l", f"127.0.0.1:{port}", "-E", "HOOKS_LOG"]
    args = [*activate, *FLASKD, "run", "hooks.py"]
    proc = spawn([*args, "--server", backend, "--port", "1"], env=hooks_env(tmp_path))
    response = proc.wait_serving(f"http://127.0.0.1:{port}/")
    assert response.text == "ok"
    assert "sockets from systemd" in proc.output
    assert proc.stop() == 0


def test_ipv6_and_unix_binds(spawn, backend: str, tmp_path: Path) -> None:
    """--bind [::1]:PORT and --bind unix:PATH both serve; the socket file goes away at exit."""
    with socket.socket(socket.AF_INET6) as s:
        try:
            s.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback here")
        port = s.getsockname()[1]
    path = tmp_path / "app.sock"
    for bind in (f"[::1]:{port}", f"unix:{path}"):
        proc = serve(spawn, backend, "--bind", bind, env=hooks_env(tmp_path))
        if bind.startswith("unix:"):
            assert unix_get(path).endswith(b"\r\n\r\nok")
            assert oct(path.stat().st_mode & 0o777) == "0o660"
        else:
            assert proc.wait_http(f"http://[::1]:{port}/").text == "ok"
        assert proc.stop() == 0
    assert not path.exists()


def test_unix_socket_in_use_is_refused_and_a_stale_one_replaced(spawn, tmp_path: Path) -> None:
    """A unix socket another server listens on is one line, exit 2, the file left in place; a
    socket file nothing listens on (left by a killed server) is replaced."""
    path = tmp_path / "app.sock"
    with socket.socket(socket.AF_UNIX) as other:
        other.bind(str(path))
        other.listen()
        result = run([*FLASKD, "run", "proxy_app.py", "--bind", f"unix:{path}"])
        assert result.returncode == 2, result.stderr
        assert f"cannot listen on unix:{path}: another server is listening there" in result.stderr
        assert "Traceback" not in result.stderr
        assert path.is_socket()
    assert path.is_socket()  # closed, not removed: stale
    proc = serve(spawn, "waitress", "--bind", f"unix:{path}", env=hooks_env(tmp_path))
    wait_for(lambda: "serving on" in proc.output, "the serving line")
    assert unix_get(path).endswith(b"\r\n\r\nok")
    assert proc.stop() == 0


def test_access_log_one_line_per_request(spawn, backend: str, tmp_path: Path) -> None:
    """--access-log writes one line per request, in the same format on every backend."""
    port = free_port()
    proc = serve(spawn, backend, "--port", str(port), "--access-log", env=hooks_env(tmp_path))
    proc.wait_http(f"http://127.0.0.1:{port}/")
    requests.get(f"http://127.0.0.1:{port}/?q=1", headers={"User-Agent": "probe/1"}, timeout=5)
    proc.stop()
    lines = [line for line in proc.output.splitlines() if "flaskd.access" in line]
    assert len(lines) == 2
    # In any order: the first request's line may come after the second's (two threads).
    (probe,) = [line for line in lines if "?q=1" in line]
    assert '"GET /?q=1 HTTP/1.1" 200 2 "-" "probe/1"' in probe
    assert probe.split("flaskd.access: INFO: ")[1].startswith("127.0.0.1 - - [")


def test_serves_the_app_in_one_log_format(spawn, backend: str) -> None:
    """Each backend serves the configured app (start-up hooks run once) and exits 0 on SIGTERM;
    flaskd's lines and the server's own (gunicorn's, granian's) share one format,
    ``TIME logger: LEVEL: message``, from start to stop."""
    port = free_port()
    # --workers 1 is what waitress does anyway: given explicitly, it is no error.
    proc = serve(spawn, backend, "--port", str(port), "--workers", "1", app="opts.py")
    assert proc.wait_serving(f"http://127.0.0.1:{port}/config").json()["LEVEL"] == "set-by-app"
    assert requests.get(f"http://127.0.0.1:{port}/runs", timeout=5).json() == 1
    assert proc.stop() == 0
    assert f"serving on http://127.0.0.1:{port} with {backend}" in proc.output
    lines = untimed(proc.output)
    assert any(line.startswith("flaskd: INFO: serving on") for line in lines)
    if backend != "waitress":  # waitress logs nothing of its own here
        assert any(line.startswith(("gunicorn.error: INFO:", "_granian: INFO:")) for line in lines)
    odd = [line for line in lines if not re.match(r"[\w.]+: (DEBUG|INFO|WARNING|ERROR): ", line)]
    assert odd == [], odd


def test_the_apps_own_logging_set_up_works(spawn, backend: str) -> None:
    """flaskd leaves the root logger to the app: its logging.basicConfig() in a start-up hook
    takes effect (its format, its level), and flaskd's lines keep theirs, each said once."""
    port = free_port()
    proc = serve(spawn, backend, "--port", str(port), "--access-log", app="own_logging.py")
    proc.wait_serving(f"http://127.0.0.1:{port}/")
    assert proc.stop() == 0
    lines = untimed(proc.output)
    assert "app DEBUG own_logging hello from the app" in lines, proc.output
    assert sum(line.startswith("flaskd: INFO: serving on") for line in lines) == 1
    assert sum(line.startswith("flaskd.access: INFO: ") for line in lines) == 1, proc.output
    assert not [line for line in lines if line.startswith("app ") and "flaskd" in line]


def test_forwarded_headers_only_from_trusted_proxies(spawn, backend: str) -> None:
    """X-Forwarded-For is honoured from a trusted proxy and removed from anyone else."""
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    seen = {}
    for trusted in ("127.0.0.1", "10.0.0.0/8"):
        port = free_port()
        proc = serve(
            spawn,
            backend,
            "--port",
            str(port),
            "--forwarded-allow-ips",
            trusted,
            app="proxy_app.py",
        )
        proc.wait_http(f"http://127.0.0.1:{port}/")
        seen[trusted] = requests.get(f"http://127.0.0.1:{port}/", headers=headers, timeout=5).json()
        proc.stop()
    assert seen["127.0.0.1"] == {"remote": "203.0.113.9", "scheme": "https", "xff": "203.0.113.9"}
    assert seen["10.0.0.0/8"] == {"remote": "127.0.0.1", "scheme": "http", "xff": None}


def test_unix_socket_peers(spawn, backend: str, tmp_path: Path) -> None:
    """A peer on a unix socket has no address on every backend (the access log shows -); its
    proxy headers are honoured with --forwarded-allow-ips unix only, not for 127.0.0.1."""
    request = (
        b"GET / HTTP/1.0\r\nHost: x\r\nX-Forwarded-For: 203.0.113.9\r\n"
        b"X-Forwarded-Proto: https\r\n\r\n"
    )
    seen, logs = {}, {}
    for trusted in ("unix", "127.0.0.1"):
        path = tmp_path / f"{trusted}.sock"
        proc = serve(
            spawn,
            backend,
            "--bind",
            f"unix:{path}",
            "--forwarded-allow-ips",
            trusted,
            "--access-log",
            app="proxy_app.py",
        )
        seen[trusted] = json.loads(unix_get(path, request).split(b"\r\n\r\n", 1)[1])
        assert proc.stop() == 0
        logs[trusted] = [line for line in proc.output.splitlines() if "flaskd.access" in line]
    assert seen["unix"] == {"remote": "203.0.113.9", "scheme": "https", "xff": "203.0.113.9"}
    assert seen["127.0.0.1"] == {"remote": "", "scheme": "http", "xff": None}
    assert len(logs["127.0.0.1"]) == 1
    assert logs["127.0.0.1"][0].split("flaskd.access: INFO: ")[1].startswith("- - - [")


def test_body_limit(spawn, backend: str) -> None:
    """A body larger than --max-request-body gets 413: at once when its Content-Length says
    so, or once the app reads past the limit of a chunked body."""
    port = free_port()
    proc = serve(
        spawn, backend, "--port", str(port), "--max-request-body", "1k", app="proxy_app.py"
    )
    proc.wait_http(f"http://127.0.0.1:{port}/")
    url = f"http://127.0.0.1:{port}/echo"
    assert requests.post(url, data=b"x" * 1024, timeout=5).text == "1024"
    assert requests.post(url, data=b"x" * 1025, timeout=5).status_code == 413
    # Chunked (no Content-Length): the limit holds while the app reads the body (waitress
    # counts the chunks' framing too, so this stays clear of the limit).
    assert requests.post(url, data=iter([b"x" * 400] * 2), timeout=5).text == "800"
    assert requests.post(url, data=iter([b"x" * 512] * 3), timeout=5).status_code == 413
    proc.stop()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--bind", "localhost"], "invalid bind 'localhost': expected HOST:PORT"),
        (["--bind", "::1:80"], "invalid bind '::1:80'"),
        (["--bind", "unix:/nonexistent/dir/app.sock"], "directory '/nonexistent/dir' not found"),
        (["--workers", "2"], "waitress cannot honour workers"),
        (["--forwarded-allow-ips", "proxy.local"], "an IP address or network"),
        (["--max-request-body", "lots"], "a size in bytes"),
        (["--server", "tomcat"], "expected one of 'waitress'"),
        (["--bind", "127.0.0.1:8000", "--port", "8001"], "flag --port: port conflicts with bind"),
        (["--server", "dev", "--bind", "127.0.0.1:8000"], "dev cannot honour bind"),
    ],
)
def test_bad_serving_input(invoke, args: list[str], fragment: str) -> None:
    """Malformed binds, missing socket directories and options a backend cannot honour:
    one line, exit 2."""
    result = invoke(["run", "hooks.py", *args], env={"HOOKS_LOG": "/dev/null"})
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert fragment in result.stderr


def test_missing_extra_names_the_install_command(tmp_path: Path) -> None:
    """Choosing a backend whose package is missing says which extra to install."""
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\nclass Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'granian':\n"
        "            raise ModuleNotFoundError('No module named granian', name='granian')\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    env = {"PYTHONPATH": str(tmp_path), "HOOKS_LOG": "/dev/null"}
    result = run([*FLASKD, "run", "hooks.py", "--server", "granian"], env=env)
    assert result.returncode == 2
    assert "granian is not installed: pip install 'flaskd[granian]'" in result.stderr


def test_tcp_listeners_send_without_delay() -> None:
    """flaskd's TCP listeners have TCP_NODELAY, which accepted connections inherit: without it,
    granian answered a keep-alive client once per 40 ms (Nagle's algorithm and delayed ACKs)."""
    places = addresses([f"127.0.0.1:{free_port()}"], "", 0, "test")
    sockets, _ = open_sockets(places, 0o600)
    (listener,) = sockets
    with listener, socket.create_connection(listener.getsockname()):
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_workers_stop_when_the_main_process_is_killed(spawn, prefork: str, tmp_path: Path) -> None:
    """kill -9 of the main process: its workers notice, run their shutdown hooks and exit,
    instead of serving on as orphans. They stop as on SIGTERM: clients that connected and sent
    nothing do not keep them up until the idle timeout (gunicorn's workers used to)."""
    log = tmp_path / "pids"
    proc, port, workers = serve_two_workers(spawn, prefork, log, "--idle-timeout", "120")
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    proc.signal(signal.SIGKILL)
    proc.wait()
    try:
        wait_for(
            lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers),
            f"workers gone, well before the idle timeout\n{proc.output}",
            timeout=30,
        )
    finally:
        for sock in silent:
            sock.close()
    assert noted(log) == in_each(workers, "startup", "shutdown")


class Traffic:
    """Clients sending requests back to back, each on its own kept-alive connection, until
    `stop`; `answered` counts the answers (a refused or cut request is sent again)."""

    def __init__(self, url: str, clients: int = 4) -> None:
        self.answered = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._send, args=(url,)) for _ in range(clients)]
        for thread in self._threads:
            thread.start()

    def _send(self, url: str) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    session.get(url, timeout=10)
                except requests.RequestException:
                    continue  # the server cut it, or stopped listening: try again until told
                self.answered += 1  # one thread at a time changes it (the GIL): close enough

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def test_quick_stop_under_traffic_runs_every_workers_hooks(
    spawn, prefork: str, tmp_path: Path
) -> None:
    """SIGQUIT while clients keep sending requests: each worker still runs its shutdown hooks,
    none is killed, exit code 0. (A gunicorn worker whose quick stop came as its loop handed a
    request to a thread hung until the master killed it, about one stop in 15 like this: a
    test run catches that only sometimes; bench/soak_stop.py --stops sigquit --traffic counts
    it over hundreds of stops.)"""
    log = tmp_path / "pids"
    proc, port, workers = serve_two_workers(spawn, prefork, log)
    traffic = Traffic(f"http://127.0.0.1:{port}/pid")
    try:
        wait_for(lambda: traffic.answered >= 200, "200 answers to the clients")
        proc.signal(signal.SIGQUIT)
        code = proc.wait()
    finally:
        traffic.stop()
    assert code == 0, proc.output
    assert not any(word in proc.output for word in KILLED), proc.output
    assert noted(log) == in_each(workers, "startup", "shutdown")


def test_ctrl_c_stops_every_worker_gracefully(spawn, prefork: str, tmp_path: Path) -> None:
    """Ctrl-C sends SIGINT to the whole process group: the main process and each worker at
    once. Every worker still stops gracefully and runs its shutdown hooks. (granian workers
    hit by SIGINT and their main's SIGTERM together used to hang until killed at the
    graceful timeout, about one stop in three: so a few rounds there.)"""
    for round in range(6 if prefork == "granian" else 2):
        log = tmp_path / f"pids{round}"
        proc, _, workers = serve_two_workers(spawn, prefork, log, "--graceful-timeout", "15")
        os.killpg(proc.popen.pid, signal.SIGINT)
        assert proc.wait() == 0, proc.output
        assert "stopping at once" not in proc.output
        assert not any(word in proc.output for word in KILLED), proc.output
        assert noted(log) == in_each(workers, "startup", "shutdown"), proc.output


def serve_two_workers(spawn, prefork: str, log: Path, *args: str):
    """granian_env.py served by 2 workers whose hooks note their PID in ``log``; the process,
    its port and the workers' PIDs, once it serves."""
    port = free_port()
    proc = serve(
        spawn, prefork, "--port", str(port), "--workers", "2", *args,
        env={"GRANIAN_ENV_LOG": str(log)}, app="granian_env.py",
    )  # fmt: skip
    return proc, port, serving_workers(proc, port)


def noted(log: Path) -> list[str]:
    """What the hooks of granian_env.py noted in ``log``, sorted ("startup PID" lines...)."""
    return sorted(log.read_text().splitlines())


def in_each(workers: list[int], *hooks: str) -> list[str]:
    """The lines `noted` gives when each of ``workers`` ran each of ``hooks`` once."""
    return sorted(f"{hook} {pid}" for hook in hooks for pid in workers)


def serving_workers(proc, port: int) -> list[int]:
    """The worker PIDs of a pre-fork server once it reported ready (two are expected)."""
    proc.wait_serving(f"http://127.0.0.1:{port}/pid")
    children = Path(f"/proc/{proc.popen.pid}/task/{proc.popen.pid}/children").read_text()
    workers = [int(pid) for pid in children.split()]
    assert len(workers) == 2, proc.output
    return workers


def test_start_up_warnings_are_said_once_not_per_worker(spawn, prefork: str) -> None:
    """A warning about the configuration (a typo in an env var, DEBUG outside dev mode) is
    logged once by the main process, not again by each worker."""
    port = free_port()
    env = {"TESTAPP_DEBUGG": "x", "TESTAPP_DEBUG": "1"}
    args = [*FLASKD, "run", "debug_flag.py", "--server", prefork, "--workers", "2"]
    proc = spawn([*args, "--port", str(port)], env=env)
    assert proc.wait_http(f"http://127.0.0.1:{port}/").json()["debug"] is False
    assert proc.stop() == 0
    assert proc.output.count("unknown key 'DEBUGG'; did you mean TESTAPP_DEBUG?") == 1, proc.output
    assert proc.output.count("DEBUG is on from env TESTAPP_DEBUG") == 1, proc.output
