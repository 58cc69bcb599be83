"""flaskd migrate: before/after fixtures, declines, the command line, migrated apps served."""

from __future__ import annotations

import json
import shutil
import signal
import stat
import subprocess
import sysconfig
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from conftest import BIN, FLASKD, PY, free_port, run, wait_for

pytest.importorskip("libcst")

import libcst as cst

from flaskd.migrate import RULES, first_request
from flaskd.migrate.command import migrate as migrate_command
from flaskd.migrate.engine import migrate_source

CASES = Path(__file__).parent / "migrate"
FIXTURES = sorted(p.name for p in CASES.iterdir() if (p / "input.py").exists())
DECLINED = {
    "run_in_loop.py": "7: app.run() in a loop",
    "app_in_function.py": "5: the app is not a module-level flask.Flask(...)",
    "click_main.py": "8: click option argument envvar= has no argparse twin",
    "two_servers.py": "10: a second server path, serve(), that flaskd cannot map",
    "return_in_main.py": "14: a `return`, `yield` or `await` on the main path",
    "parser_in_helper.py": "12: get_args() does more than build the parser",
    "helper_called_twice.py": "16: get_args() builds the parser and is used 2 times",
    "helper_argv.py": "11: parse_args() is given an argument list",
    "helper_at_import.py": "12: build_parser() builds the parser and is called at import time",
    "options_as_a_whole.py": "11: the parsed options 'args' are used as a whole",
    "used_at_import.py": "14: a definition that needs the parsed options at import time",
    "two_apps.py": "4: two Flask apps at module level",
    "getopt_main.py": "9: options parsed with getopt",
    "ssl.py": "6: app.run(ssl_context=...) has no flaskd equivalent",
    "click_on_off_other.py": "8: a click on/off flag '--verbose/--quiet' other than --x/--no-x",
    "fstring_both_quotes.py": "10: args.name is in an f-string in an f-string, quoted with ' and",
    # request.args is no use of the options, but these still use them whole:
    "query_args_vars.py": "17: the parsed options 'args' are used as a whole",
    "query_args_thread.py": "22: the parsed options 'args' are used as a whole",
    "query_args_closure.py": "11: the parsed options 'args' are used as a whole",
    "query_args_passed_on.py": "10: 'args' is passed on again",
    # issue 16: a Flask script that serves an app is converted or declined, never "unchanged"
    "factory_at_import.py": (
        "21: app comes from create_app(), not a module-level flask.Flask(...): flaskd has no app"
        " here to attach a Service to"
    ),
    "run_in_uncalled_function.py": (
        "14: app.run() in a function this module never calls, run_server()"
    ),
    "socketio_unguarded.py": (
        "21: a server other than app.run(), socketio.run(), that flaskd cannot map"
    ),
    # issue 16, bug 1: `--port` added to a positional made a parser argparse refuses
    "positional_port.py": (
        "19: port= reads the positional argument 'port'; flaskd serves on the option --port:"
        " declare it as `--port` first"
    ),
    # issue 16: a reason says what the script does with the parser
    "parser_in_option_group.py": (
        "18: the parser 'parser' is passed to OptionGroup(), which flaskd cannot follow"
    ),
    # issue 16: a reason names the variable, and whose alias it is
    "alias_reassigned.py": (
        "16: host=HOST reads HOST, an alias of args.host that the main path assigns 2 times;"
        " flaskd cannot tell the serving host: give the option a default= and app.run()"
        " args.host itself"
    ),
    "port_computed.py": (
        "13: port=PORT reads PORT, computed from args.base_port on the main path; flaskd cannot"
        " tell the serving port"
    ),
}


def migrate(case: str, text: str | None = None) -> str:
    name = f"{case}.py"
    source = text if text is not None else (CASES / case / "input.py").read_text()
    # The prefix a Service derives from the file's name (tested below).
    result = migrate_source(source, filename=name, env_prefix=f"{case.upper()}_")
    assert result.status in ("converted", "unchanged"), result.reasons
    return result.output


def install(case: str, which: str, where: Path) -> Path:
    """Copy a fixture's input or expected script to ``where/<case>.py`` (with its extra files)."""
    where.mkdir(parents=True, exist_ok=True)
    for extra in (CASES / case).iterdir():
        if extra.name not in ("input.py", "expected.py"):
            shutil.copy(extra, where / extra.name)
    script = where / f"{case}.py"
    shutil.copy(CASES / case / f"{which}.py", script)
    return script


@pytest.mark.parametrize("case", FIXTURES)
def test_fixture(case: str) -> None:
    """Each input migrates to its expected output, which compiles and a second run leaves alone."""
    expected = (CASES / case / "expected.py").read_text()
    output = migrate(case)
    assert output == expected
    compile(output, case, "exec")
    assert migrate(case, output) == output


def importable(case: str) -> bool:
    """A Flask script with no first-request TODO left (that code still needs Flask < 2.3)."""
    text = (CASES / case / "expected.py").read_text()
    return "flask" in text and "TODO(flaskd): before_app_first_request" not in text


#: Imports each migrated module in turn under gunicorn's argv, in one process (an interpreter
#: and Flask start once, not once per case): one line per case, "ok" or what went wrong.
IMPORT_ALL = """
import json, sys, traceback
for case, where in json.loads(sys.argv[1]):
    sys.path.insert(0, where)
    before = set(sys.modules)
    sys.argv = ["gunicorn", "-w", "2"]
    try:
        __import__(case)
        print(case, "ok", flush=True)
    except BaseException:  # SystemExit too: a parse_args() that ran at import
        print(case, traceback.format_exc(limit=-1).strip().splitlines()[-1], flush=True)
    for name in set(sys.modules) - before:  # its own modules (config.py...) go with it
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(where):
            del sys.modules[name]
    sys.path.remove(where)
"""


def test_imports_under_a_server_command_line(tmp_path: Path) -> None:
    """Each migrated module imports under gunicorn's argv: no parse_args(), no server started
    (a server would hang the import: the timeout names the cases that did import)."""
    cases = [c for c in FIXTURES if importable(c)]
    for case in cases:
        install(case, "expected", tmp_path / case)
    plan = json.dumps([(case, str(tmp_path / case)) for case in cases])
    try:
        result = subprocess.run(
            [PY, "-c", IMPORT_ALL, plan], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"an import hung; imported before it:\n{e.stdout}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{case} ok" for case in cases], result.stderr


#: Runnable fixtures: flags as a script, the same as env vars, and the JSON each URL answers
#: ({tmp} is the test's temporary directory).
RUNNABLE = {
    # As the original: its option's default overwrote what config.py set.
    "seed": ([], {}, {"/": {"option": "A", "more": "Hello"}}),
    "argparse_main": (
        ["--title", "Stock", "--db", "{tmp}/inv.sqlite"],
        {"ARGPARSE_MAIN_TITLE": "Stock", "ARGPARSE_MAIN_DB": "{tmp}/inv.sqlite"},
        {"/items": {"title": "Stock", "items": []}},
    ),
    "main_function": (
        ["--greeting", "hey", "--name", "ann"],
        {"MAIN_FUNCTION_GREETING": "hey", "MAIN_FUNCTION_NAME": "ann"},
        {"/": {"greeting": "HEY", "hits": 2, "name": "ann"}},
    ),
    "handlers_args": (
        ["--color", "blue", "--size", "7", "-v"],
        {"HANDLERS_ARGS_COLOR": "blue", "HANDLERS_ARGS_SIZE": "7", "HANDLERS_ARGS_VERBOSE": "1"},
        {"/": {"color": "blue", "size": 7, "shape": "square", "verbose": True}},
    ),
    "before_first_request": ([], {}, {"/": {"answer": 42}}),
    "helper_args": (
        ["--owner", "ann"],
        {"HELPER_ARGS_OWNER": "ann"},
        {"/owner": {"owner": "ann"}},
    ),
    "click_options": (
        ["--level", "high", "--tag", "a", "--tag", "b c", "-q"],
        {
            "CLICK_OPTIONS_LEVEL": "high",
            "CLICK_OPTIONS_TAGS": "a 'b c'",
            "CLICK_OPTIONS_QUIET": "1",
        },
        {"/": {"level": "high", "tags": ["a", "b c"], "quiet": True}},
    ),
    "shutdown_code": (
        ["--log", "{tmp}/served.log"],
        {"SHUTDOWN_CODE_LOG": "{tmp}/served.log"},
        {"/": {"log": "{tmp}/served.log"}},
    ),
    "global_args": (
        ["/srv/data/", "--token", "s3cret", "-vv"],
        {
            "GLOBAL_ARGS_ROOT": "/srv/data/",
            "GLOBAL_ARGS_TOKEN": "s3cret",
            "GLOBAL_ARGS_VERBOSE": "2",
        },
        {"/": {"root": "/srv/data", "token": 6, "verbose": 2}},
    ),
    "optparse_options": (
        ["--motd", "hello there", "--repeat", "3"],
        {"OPTPARSE_OPTIONS_MOTD": "hello there", "OPTPARSE_OPTIONS_REPEAT": "3"},
        {"/": {"motd": "hello there", "repeat": 3}},
    ),
    "parser_helper": (
        ["--model", "big.bin", "--threshold", "0.75"],
        {"PARSER_HELPER_MODEL": "big.bin", "PARSER_HELPER_THRESHOLD": "0.75"},
        {"/predict": {"model": "big.bin", "layers": 3, "threshold": 0.75}},
    ),
    "parser_builder": (
        ["--name", "ann", "--retries", "3", "--loud"],
        {"PARSER_BUILDER_NAME": "ann", "PARSER_BUILDER_RETRIES": "3", "PARSER_BUILDER_LOUD": "1"},
        {"/": {"name": "ann", "loud": True, "retries": 3}},
    ),
    "parser_builder_chained": (
        ["--motto", "hi there", "-n", "2"],
        {"PARSER_BUILDER_CHAINED_MOTTO": "hi there", "PARSER_BUILDER_CHAINED_TIMES": "2"},
        {"/": {"motto": "hi there", "times": 2}},
    ),
    "fstring_quotes": (
        ["--name", "bob", "--width", "4"],
        {"FSTRING_QUOTES_NAME": "bob", "FSTRING_QUOTES_WIDTH": "4"},
        {
            "/": {
                "double": "bob",
                "single": "bob",
                "triple": "<bob>",
                "nested": "'bob'",
                "spec": " bob",
                "vars": "4",
                "getattr": "bob",
                "banner": "hello BOB",
            }
        },
    ),
    "click_on_off": (
        ["--verbose", "--no-color", "--name", "bob"],
        {"CLICK_ON_OFF_VERBOSE": "1", "CLICK_ON_OFF_COLOR": "0", "CLICK_ON_OFF_NAME": "bob"},
        {"/": {"verbose": True, "color": False, "cache": False, "hello": "hi bob"}},
    ),
    "query_args": (
        ["--title", "Stock"],
        {"QUERY_ARGS_TITLE": "Stock"},
        {
            "/search?q=tea&sort=new": {"query": {"q": "tea", "sort": "new"}, "title": "Stock"},
            "/echo?x=1": {"args": {"x": "1"}, "banner": "STOCK"},
        },
    ),
    "import_in_try": (
        ["--owner", "ann"],
        {"IMPORT_IN_TRY_OWNER": "ann"},
        {"/notes": {"owner": "ann", "notes": ["first"]}},
    ),
    "port_check": (
        ["--model", "big", "--name", "ann"],
        {"PORT_CHECK_MODEL": "big", "PORT_CHECK_NAME": "ann"},
        {"/predict": {"model": "big", "name": "ann"}},
    ),
    # issue 16, bug 4: the options' defaults, not config.py, as in the script
    "config_precedence": (
        [],
        {},
        {"/items": {"page": [f"item{i}" for i in range(20)], "secret": "option"}},
    ),
    "click_help": (
        ["--channel", "ops"],
        {"CLICK_HELP_CHANNEL": "ops"},
        {"/hooks": {"channel": "ops", "received": []}},
    ),
    "helper_return_args": (
        ["--root", "{tmp}/none", "--title", "Cats"],
        {"HELPER_RETURN_ARGS_ROOT": "{tmp}/none", "HELPER_RETURN_ARGS_TITLE": "Cats"},
        {"/gallery": {"root": "{tmp}/none", "images": [], "title": "Cats"}},
    ),
    "serving_args": ([], {}, {"/hit": {"hits": 2, "client": "127.0.0.1"}}),
    "address_aliases": (
        ["--unit", "F"],
        {"ADDRESS_ALIASES_UNIT": "F"},
        {"/readings": {"readings": {"temp": 21.5}, "unit": "F"}},
    ),
    "init_db": (
        ["--database", "{tmp}/blog.sqlite"],
        {"INIT_DB_DATABASE": "{tmp}/blog.sqlite"},
        {"/entries": {"entries": ["hello"]}},
    ),
    # the start-up hook below the names it uses: config.py's settings, the logger, load()
    "hook_placement": (
        ["--links", "links.txt"],
        {"HOOK_PLACEMENT_LINKS": "links.txt"},
        {
            "/links": {
                "links": {"docs": "https://docs.example/", "home": "https://example.com/"},
                "site": "links.example",
                "loaded": 2,
            }
        },
    ),
    # app.secret_key = args.secret_key and app.config.update(PAGE_SIZE=...) are copies too:
    # dropped, and the options' defaults still win over config.py as in the script
    "config_attributes": (
        ["--secret-key", "s3"],
        {"CONFIG_ATTRIBUTES_SECRET_KEY": "s3"},
        {"/": {"secret": "s3", "testing": False, "size": 20}},
    ),
    "options_dict": (
        ["--owner", "ann", "--limit", "3"],
        {"OPTIONS_DICT_OWNER": "ann", "OPTIONS_DICT_LIMIT": "3"},
        {"/notes": {"owner": "ann", "notes": ["kept by ann"], "limit": 3}},
    ),
    # if args.x is None: args.x = ... became each option's default=
    "none_default": (
        ["--greeting", "hi"],
        {"NONE_DEFAULT_GREETING": "hi"},
        {"/": {"greeting": "hihi"}},
    ),
    "init_db_click": (
        ["--database", "{tmp}/blog.sqlite"],
        {"INIT_DB_CLICK_DATABASE": "{tmp}/blog.sqlite"},
        {"/entries": {"entries": ["hello"]}},
    ),
    "init_db_optparse": (
        ["--database", "{tmp}/blog.sqlite"],
        {"INIT_DB_OPTPARSE_DATABASE": "{tmp}/blog.sqlite"},
        {"/entries": {"entries": ["hello"]}},
    ),
}
#: Inputs that use @app.before_first_request, which Flask removed in 2.3: they cannot run here.
NEEDS_OLD_FLASK = {"seed", "before_first_request"}


def answers(spawn, args: list[str], cwd: Path, env: dict[str, str], port: int, urls) -> dict:
    proc = spawn(args, cwd=cwd, env=env)
    base = f"http://127.0.0.1:{port}"
    first = next(iter(urls))
    proc.wait_http(base + first)
    got = {}
    for url in urls:
        response = requests.get(base + url, timeout=5)
        assert response.status_code == 200, proc.output
        got[url] = response.json()
    proc.kill()
    return got


#: Cases whose init code became start-up hooks: their factory is also served by a bare server
#: (`waitress-serve --call case:create_app`), which must run the hooks. For the others that
#: adds nothing to `flaskd run`: the same configuration from the environment, the same factory.
UNDER_A_BARE_SERVER = {"init_db", "init_db_click", "init_db_optparse", "main_function"}


@pytest.mark.parametrize("case", sorted(RUNNABLE))
def test_migrated_app_answers_the_same(case: str, tmp_path: Path, spawn) -> None:
    """The migrated script answers like the original: as a script, with flaskd run, and
    (`UNDER_A_BARE_SERVER`) with waitress-serve."""
    flags, env, urls = json.loads(json.dumps(RUNNABLE[case]).replace("{tmp}", str(tmp_path)))
    before, after = tmp_path / "before", tmp_path / "after"
    install(case, "input", before)
    install(case, "expected", after)
    # Each mode is a fresh process: its hit counter sees the readiness probe, then our GET.
    modes = {}
    if case not in NEEDS_OLD_FLASK:
        port = free_port()
        modes["original"] = ([PY, f"{case}.py", "--port", str(port), *flags], before, {}, port)
    port = free_port()
    modes["script"] = ([PY, f"{case}.py", "--port", str(port), *flags], after, {}, port)
    port = free_port()
    modes["flaskd run"] = ([*FLASKD, "run", f"{case}.py", "--port", str(port)], after, env, port)
    if case in UNDER_A_BARE_SERVER:
        port = free_port()
        waitress = [str(BIN / "waitress-serve"), "--listen", f"127.0.0.1:{port}"]
        modes["waitress"] = ([*waitress, "--call", f"{case}:create_app"], after, env, port)
    for mode, (args, cwd, mode_env, port) in modes.items():
        got = answers(spawn, args, cwd, mode_env, port, urls)
        assert got == urls, mode


@pytest.mark.parametrize(
    ("mode", "signum"),
    [("original", signal.SIGINT), ("script", signal.SIGINT), ("flaskd run", signal.SIGTERM)],
)
def test_code_after_app_run_still_runs_on_stop(
    mode: str, signum: int, tmp_path: Path, spawn
) -> None:
    """What followed app.run() runs when the server stops, before and after migrating."""
    case = "shutdown_code"
    script = install(case, "input" if mode == "original" else "expected", tmp_path)
    port = free_port()
    log = tmp_path / "served.log"
    if mode == "flaskd run":
        args = [*FLASKD, "run", script.name, "--port", str(port)]
        env = {"SHUTDOWN_CODE_LOG": str(log)}
    else:
        args, env = [PY, script.name, "--port", str(port), "--log", str(log)], {}
    proc = spawn(args, cwd=tmp_path, env=env)
    assert proc.wait_http(f"http://127.0.0.1:{port}/").json() == {"log": str(log)}
    proc.signal(signum)
    proc.wait()
    assert log.read_text() == "stopped\n"


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_declined_file_stays_byte_identical(invoke, name: str, tmp_path: Path) -> None:
    """A script flaskd cannot convert safely is left as it was, with the reason at file:line."""
    script = tmp_path / name
    shutil.copy(CASES / "declined" / name, script)
    before = script.read_bytes()
    result = invoke(["migrate", "--write", name], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert script.read_bytes() == before
    assert f"declined: {name}:{DECLINED[name]}" in result.stderr
    assert "0 converted, 0 unchanged, 1 declined, 0 failed" in result.stderr


def test_check_exit_codes(invoke, tmp_path: Path) -> None:
    """--check exits 1 when a file would change and 0 once nothing would, writing nothing."""
    script = install("argparse_main", "input", tmp_path)
    before = script.read_text()
    assert invoke(["migrate", "--check", script.name], cwd=tmp_path).returncode == 1
    assert script.read_text() == before
    assert invoke(["migrate", "--write", script.name], cwd=tmp_path).returncode == 0
    assert script.read_text() == (CASES / "argparse_main" / "expected.py").read_text()
    result = invoke(["migrate", "--check", script.name], cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_default_prints_a_diff_and_writes_nothing(invoke, tmp_path: Path) -> None:
    """Without --write the command prints a unified diff and leaves the file alone."""
    script = install("before_first_request", "input", tmp_path)
    before = script.read_text()
    result = invoke(["migrate", str(tmp_path)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\n-@app.before_first_request\n" in result.stdout
    assert "\n+@service.on_startup\n" in result.stdout
    assert result.stdout.startswith(f"--- {script}\n+++ {script}\n")
    assert script.read_text() == before


def test_stdin_to_stdout() -> None:
    """``-`` reads the script from stdin and writes the migrated script to stdout."""
    source = (CASES / "before_first_request" / "input.py").read_text()
    result = subprocess.run(
        [*FLASKD, "migrate", "-", "--env-prefix", "BEFORE_FIRST_REQUEST_"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (CASES / "before_first_request" / "expected.py").read_text()


def test_invalid_python_is_reported_and_others_still_processed(invoke, tmp_path: Path) -> None:
    """A file that is not Python fails (exit 2) without stopping the others."""
    (tmp_path / "broken.py").write_text("from flask import Flask\ndef (:\n")
    script = install("before_first_request", "input", tmp_path)
    result = invoke(["migrate", "--write", str(tmp_path)], cwd=tmp_path)
    assert result.returncode == 2
    assert f"failed: {tmp_path / 'broken.py'}:2: not valid Python" in result.stderr
    assert script.read_text() == (CASES / "before_first_request" / "expected.py").read_text()
    assert "1 converted, 0 unchanged, 0 declined, 1 failed" in result.stderr


@pytest.mark.parametrize(
    ("added", "reason"),
    [
        ("return\n", "its output does not compile: SyntaxError: 'return' outside function"),
        ("runs = 1\n", "a second run would change its output"),
    ],
    ids=["does-not-compile", "not-final"],
)
def test_output_that_is_not_final_is_never_written(
    added: str, reason: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Output that does not compile, or that a second run would change, fails and is not
    written. A monkeypatched rule stands in for a buggy one: no correct rule can be made to
    misbehave."""
    real = first_request.apply

    def buggy(module: cst.Module, context: object) -> cst.Module:
        module = real(module, context)  # type: ignore[arg-type]
        return module.with_changes(body=[*module.body, cst.parse_statement(added)])

    monkeypatch.setattr(first_request, "apply", buggy)
    script = install("before_first_request", "input", tmp_path)
    before = script.read_bytes()
    result = CliRunner().invoke(migrate_command, ["--write", str(script)])
    assert result.exit_code == 2, result.output
    assert script.read_bytes() == before
    assert f"failed: {script}: flaskd migrate failed ({reason}" in result.stderr
    assert "0 converted, 0 unchanged, 0 declined, 1 failed" in result.stderr


def test_output_whose_parser_argparse_refuses_is_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Output whose parser raises when built (an option string argparse refuses: it compiles,
    and only fails at import) fails and is not written. A monkeypatched rule stands in for a
    buggy one, as above."""
    real = first_request.apply

    def buggy(module: cst.Module, context: object) -> cst.Module:
        module = real(module, context)  # type: ignore[arg-type]
        added = cst.parse_statement('parser.add_argument("data", "--data")\n')
        at = next(i for i, s in enumerate(module.body) if "parse_args" in module.code_for_node(s))
        return module.with_changes(body=[*module.body[:at], added, *module.body[at:]])

    monkeypatch.setattr(first_request, "apply", buggy)
    script = install("import_time", "input", tmp_path)
    before = script.read_bytes()
    result = CliRunner().invoke(migrate_command, ["--write", str(script)])
    assert result.exit_code == 2, result.output
    assert script.read_bytes() == before
    reason = (
        'its parser cannot be built: argparse refuses parser.add_argument("data", "--data"):'
        " ValueError: invalid option string 'data': must start with a character '-'"
    )
    assert f"failed: {script}: flaskd migrate failed ({reason}" in result.stderr


def test_write_is_atomic_and_keeps_the_mode(invoke, tmp_path: Path) -> None:
    """--write replaces the file in one step, keeps its mode and leaves no temporary file."""
    script = install("optparse_options", "input", tmp_path)
    script.chmod(0o750)
    result = invoke(["migrate", "--write", script.name], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(script.stat().st_mode) == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["optparse_options.py"]


def test_write_keeps_line_endings_and_encoding(invoke, tmp_path: Path) -> None:
    """A CRLF file stays CRLF and a latin-1 file stays latin-1 (its coding cookie honoured)."""
    crlf = tmp_path / "crlf.py"
    text = (CASES / "before_first_request" / "input.py").read_text()
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    latin = tmp_path / "latin.py"
    latin.write_bytes(
        b'# -*- coding: latin-1 -*-\nfrom flask import Flask\n\napp = Flask("caf\xe9")\n'
        b'\nif __name__ == "__main__":\n    app.run()\n'
    )
    result = invoke(["migrate", "--write", "crlf.py", "latin.py"], cwd=tmp_path)
    assert "2 converted" in result.stderr, result.stderr
    data = crlf.read_bytes()
    assert b"@service.on_startup\r\n" in data
    assert data.count(b"\n") == data.count(b"\r\n")
    assert 'app = Flask("caf\xe9")' in latin.read_text(encoding="latin-1")
    assert "service.main()" in latin.read_text(encoding="latin-1")


def test_directories_skip_virtualenvs_and_non_flask_files(invoke, tmp_path: Path) -> None:
    """Walking skips .venv, venv, site-packages and dot-dirs; non-Flask files are unchanged."""
    for skipped in (".venv", "venv", "lib/site-packages", ".git"):
        install("before_first_request", "input", tmp_path / skipped)
    install("noop_plain", "input", tmp_path / "src")
    result = invoke(["migrate", "--check", str(tmp_path)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0 converted, 1 unchanged, 0 declined, 0 failed" in result.stderr


def test_only_and_skip(invoke, tmp_path: Path) -> None:
    """--only runs the rules named; skipping part of the main-path conversion declines it."""
    script = install("before_first_request", "input", tmp_path)
    result = invoke(["migrate", "--write", "--only", "first-request", script.name], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = script.read_text()
    assert "@service.on_startup" in text
    assert "app.run(port=5050, debug=True)" in text

    script = install("argparse_main", "input", tmp_path)
    before = script.read_bytes()
    result = invoke(["migrate", "--write", "--skip", "options", script.name], cwd=tmp_path)
    assert script.read_bytes() == before
    assert (
        "argparse_main.py:15: converting the main path also needs rule(s) options" in result.stderr
    )


def test_rules_run_in_steps_give_the_same_result(invoke, tmp_path: Path) -> None:
    """--only first-request, then the other rules, gives what one full run gives."""
    script = install("seed", "input", tmp_path)
    first = invoke(["migrate", "--write", "--only", "first-request", "seed.py"], cwd=tmp_path)
    assert "1 converted" in first.stderr, first.stderr
    rest = invoke(["migrate", "--write", "seed.py"], cwd=tmp_path)
    assert "1 converted" in rest.stderr, rest.stderr
    assert script.read_text() == (CASES / "seed" / "expected.py").read_text()


def test_entrypoint(invoke, tmp_path: Path, spawn) -> None:
    """--entrypoint writes a wsgi.py next to the script, served by module path; never overwrites."""
    install("before_first_request", "input", tmp_path)
    result = invoke(["migrate", "--write", "--entrypoint", "."], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    wsgi = tmp_path / "wsgi.py"
    assert "from before_first_request import service as application" in wsgi.read_text()
    port = free_port()
    proc = spawn(
        [str(BIN / "waitress-serve"), "--port", str(port), "wsgi:application"], cwd=tmp_path
    )
    assert proc.wait_http(f"http://127.0.0.1:{port}/").json() == {"answer": 42}

    wsgi.write_text("application = None\n")
    result = invoke(["migrate", "--write", "--entrypoint", "."], cwd=tmp_path)
    assert wsgi.read_text() == "application = None\n"
    assert "wsgi.py: exists and differs; not overwritten" in result.stderr


def test_missing_libcst_is_one_line() -> None:
    """Without libcst, migrate says how to install it, exit 2, no traceback."""
    code = (
        "import sys; sys.modules['libcst'] = None; sys.argv = ['flaskd', 'migrate', 'x.py'];"
        " from flaskd.cli import main; main()"
    )
    result = run([PY, "-c", code])
    assert result.returncode == 2
    assert result.stderr == "Error: libcst is not installed: pip install 'flaskd[migrate]'\n"


def test_big_trees_are_converted_by_workers(tmp_path: Path) -> None:
    """A tree of many files goes through worker processes with the same result for each file."""
    for i in range(45):
        install("main_function", "input", tmp_path / f"app{i:02}")
    result = run([*FLASKD, "migrate", "--write", "."], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "45 converted, 0 unchanged, 0 declined, 0 failed" in result.stderr
    expected = (CASES / "main_function" / "expected.py").read_text()
    for i in range(45):
        assert (tmp_path / f"app{i:02}" / "main_function.py").read_text() == expected


def test_declared_prefix_is_the_one_the_service_derives(tmp_path: Path) -> None:
    """The env prefix migrate writes for my-app.py is the one a Service derives for that file."""
    script = tmp_path / "my-app.py"
    shutil.copy(CASES / "argparse_main" / "input.py", script)
    assert run([*FLASKD, "migrate", "--write", str(script)]).returncode == 0
    check = (
        "import importlib.util, sys\n"
        "from flaskd import Service\n"
        f"spec = importlib.util.spec_from_file_location('my_app', {str(script)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['my_app'] = module\n"
        "spec.loader.exec_module(module)\n"
        "print(module.service.env_prefix, Service(module.app).env_prefix)\n"
    )
    result = run([PY, "-c", check], cwd=tmp_path)
    assert result.stdout.split() == ["MY_APP_", "MY_APP_"], result.stderr


def test_a_prefix_the_service_would_refuse_is_declined(invoke, tmp_path: Path) -> None:
    """flaskd_app.py would get FLASKD_APP_, which clashes with flaskd's own FLASKD_ variables:
    the file is declined, untouched; an explicit --env-prefix FLASKD_X_ is a usage error."""
    script = tmp_path / "flaskd_app.py"
    shutil.copy(CASES / "argparse_main" / "input.py", script)
    before = script.read_bytes()
    result = invoke(["migrate", "--write", str(script)])
    assert "clashes with flaskd's FLASKD_" in result.stderr
    assert "1 declined" in result.stderr
    assert script.read_bytes() == before
    result = invoke(["migrate", "--env-prefix", "FLASKD_X_", str(script)])
    assert result.returncode == 2
    assert "--env-prefix: env prefix 'FLASKD_X_' clashes" in result.stderr


#: Code named like the options ``args`` (or the ``parser``) that is not them, in a function of
#: the script below.
NOT_THE_OPTIONS = {
    "attribute": 'return request.args.get("q", "")',
    "attribute-store": "app.args = ()",
    "keyword": "return dict(args=1)",
    "lambda-parameter": "return sorted([], key=lambda *args: args)",
    "local": 'args = request.args\n    return args.get("q")',
    "imported-from": "from args import thing",
    "imported-as": "import args as a",
    "parser-module": "from parser import thing",
}
OPTIONS_SCRIPT = """import argparse
from flask import Flask, request

app = Flask(__name__)


def handler():
    {code}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="x.sqlite")
    args = parser.parse_args()
    print(args.db)
    app.run()
"""


@pytest.mark.parametrize("code", NOT_THE_OPTIONS.values(), ids=NOT_THE_OPTIONS)
def test_only_the_options_variable_is_the_options(code: str) -> None:
    """An attribute, keyword, lambda parameter, local or import named ``args`` (or ``parser``)
    is left alone and does not decline the script: only the options become app.config."""
    output = migrate("handler", OPTIONS_SCRIPT.format(code=code))
    assert f"    {code}\n" in output
    assert 'print(app.config["DB"])' in output


@pytest.mark.parametrize(
    "code",
    ["return (lambda args=args: args.db)()", "def inner(args=args):\n        return args.db"],
    ids=["lambda", "def"],
)
def test_options_as_a_parameter_default_are_used_whole(code: str) -> None:
    """A parameter named ``args`` hides the options in its function's body, not in its default."""
    result = migrate_source(OPTIONS_SCRIPT.format(code=code), filename="handler.py")
    assert result.status == "declined"
    assert result.reasons == ["handler.py:8: the parsed options 'args' are used as a whole"]


def test_optparse_positional_args_is_not_request_args() -> None:
    """``(options, args) = parser.parse_args()`` converts though handlers read request.args."""
    source = (CASES / "optparse_options" / "input.py").read_text()
    source = source.replace("Flask\n", "Flask, request\n", 1)
    source = source.replace("options.repeat}", "options.repeat, 'q': request.args}")
    output = migrate("optparse_options", source)
    assert "'q': request.args}" in output
    assert "parse_args" not in output


def test_click_names_that_are_not_the_option_stay() -> None:
    """A click option's name as a lambda parameter, attribute, keyword or imported module stays;
    a nested def's parameter default still reads the option."""
    source = (CASES / "click_options" / "input.py").read_text()
    kept = (
        "    from level import low\n"
        "    key = lambda level: level.lower()\n"
        "    settings.update(level=settings.level)\n"
    )
    nested = "    def shout(level={}):\n        return level.upper()\n"
    added = kept + nested.format("level")
    source = source.replace('settings."""\n', f'settings."""\n{added}')
    output = migrate("click_options", source)
    assert kept + nested.format('app.config["LEVEL"]') in output


def test_click_import_kept_while_the_script_still_uses_click() -> None:
    """`import click` stays when code other than the converted command still names click."""
    source = (CASES / "click_options" / "input.py").read_text()
    source = source.replace("settings = {}\n", "settings = {}\necho = getattr(click, 'echo')\n")
    output = migrate("click_options", source)
    assert "import click\n" in output
    assert "echo = getattr(click, 'echo')" in output


def test_never_breaks_installed_packages(invoke) -> None:
    """Over every .py file of site-packages it never crashes nor proposes invalid code."""
    site = Path(sysconfig.get_paths()["purelib"])
    files = sorted(site.rglob("*.py"))
    assert len(files) > 1000
    for file in files:
        source = file.read_bytes().decode("utf-8", errors="replace")
        result = migrate_source(source, filename=str(file))
        assert result.status != "failed" or "not valid Python" in " ".join(result.reasons), (
            file,
            result.reasons,
        )
        if result.status == "converted":
            compile(result.output, str(file), "exec")
    # The command itself (walk, workers, summary) over one package of them.
    result = invoke(["migrate", "--diff", str(site / "flask")])
    assert result.returncode in (0, 2), result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_docs_cover_every_rule_and_flag_and_show_the_real_seed() -> None:
    """docs/migrate.md names each rule and flag, and its seed example is the fixture's text."""
    doc = (Path(__file__).parent.parent / "docs" / "migrate.md").read_text()
    for rule in RULES.values():
        assert f"| `{rule.id}` | `{rule.module}.py` |" in doc
    for param in migrate_command.params:
        for flag in param.opts:
            if flag.startswith("--"):
                assert f"`{flag}" in doc, flag
    for which in ("input", "expected"):
        text = (CASES / "seed" / f"{which}.py").read_text()
        assert text.split("\n", 2)[2].lstrip() in doc  # without the fixture's docstring


def test_an_app_already_on_flaskd_is_left_alone() -> None:
    """The example app, written for flaskd by hand, comes back unchanged."""
    example = Path(__file__).parent.parent / "examples" / "notes" / "notes.py"
    source = example.read_text()
    result = migrate_source(source, filename="notes.py", env_prefix="NOTES_")
    assert (result.status, result.output) == ("unchanged", source)


def test_config_loaded_on_the_main_path_before_a_copy_gets_a_todo() -> None:
    """A loader on the main path moves into the start-up hook, after flaskd set the keys from
    the options: what it sets would win over a flag, and a TODO says so."""
    source = (CASES / "config_precedence" / "input.py").read_text()
    source = source.replace('app.config.from_object("config")\n', "")
    source = source.replace(
        "    args = parser.parse_args()\n",
        '    args = parser.parse_args()\n    app.config.from_object("config")\n',
    )
    output = migrate("config_precedence", source)
    todo = (
        "    # TODO(flaskd): PAGE_SIZE, SECRET_KEY: the script overwrote them with its option"
        " after this line (--page-size, --secret-key); this line now runs in the start-up hook,"
    )
    assert todo in output
    assert '    app.config.from_object("config")\n' in output.split("def startup(app):")[1]


def test_click_command_argument_without_twin_is_named() -> None:
    """@click.command() with an argument argparse has no twin for is declined, naming it."""
    source = (CASES / "click_help" / "input.py").read_text()
    source = source.replace("@click.command(", "@click.command(context_settings={}, ")
    result = migrate_source(source, filename="hooks.py")
    assert result.status == "declined"
    assert result.reasons == [
        "hooks.py:15: @click.command(context_settings=...) has no argparse twin"
    ]


PROXY_FIX_WARNING = "app.wsgi_app is werkzeug's ProxyFix, but forwarded_allow_ips is empty"


@pytest.mark.parametrize(
    ("server", "trusted"),
    [("waitress", []), ("gunicorn", []), ("waitress", ["--forwarded-allow-ips", "127.0.0.1"])],
    ids=["waitress", "gunicorn-2-workers", "proxy-trusted"],
)
def test_proxy_fix_without_trusted_proxies_is_named_at_start(
    server: str, trusted: list[str], tmp_path: Path, spawn
) -> None:
    """flaskd run says once, from the main process, that an app.wsgi_app ProxyFix sees no
    forwarded headers while --forwarded-allow-ips is empty; not once that is set."""
    install("serving_args", "expected", tmp_path)
    port = free_port()
    args = [*FLASKD, "run", "serving_args.py", "--port", str(port), "--server", server]
    args += ["--workers", "2"] if server == "gunicorn" else []
    proc = spawn([*args, *trusted], cwd=tmp_path)
    proc.wait_http(f"http://127.0.0.1:{port}/hit")
    wait_for(lambda: "serving on" in proc.output, "the serving line")
    assert proc.output.count(PROXY_FIX_WARNING) == (0 if trusted else 1), proc.output


def test_plain_aliases_of_the_address_fold_into_the_options() -> None:
    """HOST = args.host; PORT = int(args.port); app.run(host=HOST, port=PORT): the aliases go,
    flaskd serves on the options themselves."""
    source = (CASES / "address_aliases" / "input.py").read_text()
    source = source.replace(
        '    HOST = args.host if args.host else "127.0.0.1"\n'
        "    PORT = int(args.port) if args.port else 8000\n",
        "    HOST = args.host\n    PORT = int(args.port)\n",
    )
    output = migrate("address_aliases", source)
    assert 'parser.add_argument("--host", help="interface to listen on")\n' in output
    assert "HOST" not in output
    assert "PORT" not in output
    assert output.endswith('if __name__ == "__main__":\n    service.main()\n')


@pytest.mark.parametrize(
    ("case", "line"), [("init_db", 35), ("init_db_click", 34), ("init_db_optparse", 35)]
)
def test_report_says_init_code_runs_per_worker_and_warns_when_it_drops_data(
    invoke, case: str, line: int, tmp_path: Path
) -> None:
    """The report notes, per file, that init code now runs once per worker process, and warns
    when that code drops data (schema.sql starts with DROP TABLE), at the line of the original
    file, for argparse, click and optparse scripts; a file whose init code drops nothing gets
    the note only."""
    script = install(case, "input", tmp_path)
    result = invoke(["migrate", script.name], cwd=tmp_path)
    assert (
        f"note: {case}.py:{line}: the start-up code from the main path ran once per run of the"
        " script; in the start-up hook it runs once per process: in each worker" in result.stderr
    )
    assert (
        f"warning: {case}.py:{line}: the start-up code runs schema.sql, which has DROP TABLE: it"
        " now runs in every worker process and at every worker restart" in result.stderr
    )
    (tmp_path / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS entries (title TEXT);\n")
    result = invoke(["migrate", script.name], cwd=tmp_path)
    assert f"note: {case}.py:{line}:" in result.stderr
    assert "warning:" not in result.stderr


def test_start_up_hook_stays_above_the_first_request_hooks() -> None:
    """The main path's code ran before any first request: its hook is registered above a
    converted before_first_request hook, though it uses a helper defined below that one."""
    source = (CASES / "before_first_request" / "input.py").read_text()
    source = source.replace(
        '@app.route("/")',
        'def prime():\n    cache["answer"] = 41\n\n\n@app.route("/")',
    ).replace("    app.run(port=5050, debug=True)", "    prime()\n    app.run(port=5050)")
    output = migrate("before_first_request", source)
    assert output.index("def startup(app):") < output.index("def warm_cache(app):")


def test_none_fallback_that_argparse_would_read_otherwise_stays() -> None:
    """`if args.x is None: args.x = ...` stays init code when a default= would not mean the
    same: a string for a typed option (argparse would convert it), a read of args.x before it."""
    source = (CASES / "none_default" / "input.py").read_text()
    source = source.replace("args.times = 2", 'args.times = "2"')
    source = source.replace(
        "    if args.greeting is None:", "    print(args.greeting)\n    if args.greeting is None:"
    )
    output = migrate("none_default", source)
    assert 'parser.add_argument("--times", type=int)\n' in output
    assert 'parser.add_argument("--greeting")\n' in output
    hook = output.split("def startup(app):")[1]
    assert '    if app.config["TIMES"] is None:\n        app.config["TIMES"] = "2"\n' in hook
    assert '    if app.config["GREETING"] is None:\n' in hook
    assert 'parser.add_argument("--port", default="5000")\n' in output


def test_an_alias_of_the_address_read_elsewhere_stays_and_flaskd_serves_on_the_option() -> None:
    """PORT = args.port, read by more than app.run(): the line stays in the start-up hook (with
    the TODO for code that reads the serving port) and flaskd serves on --port itself."""
    source = (CASES / "declined" / "port_computed.py").read_text()
    source = source.replace("args.base_port + 1", "args.port").replace("--base-port", "--port")
    source = source.replace(
        "    app.run(port=PORT)", '    print("port", PORT)\n    app.run(port=PORT)'
    )
    output = migrate("port_alias_kept", source)
    hook = output.split("def startup(app):")[1]
    assert '    PORT = app.config["PORT"]\n    print("port", PORT)\n' in hook
    assert "serve=" not in output
    assert output.endswith('if __name__ == "__main__":\n    service.main()\n')
