"""flaskd's log lines, and the servers': one handler on stderr, as text or JSON.

The root logger is left to the app: its own ``logging.basicConfig()`` still
works (also in a start-up hook), and its lines keep its format. A
``--log-config`` file takes over all of logging instead.
"""

from __future__ import annotations

import functools
import json
import logging
import logging.config
import os
import sys
import time
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._errors import ConfigError

#: The loggers whose lines flaskd shows, in its format: its own and the servers'.
SERVER_LOGGERS = ("flaskd", "waitress", "gunicorn", "_granian", "werkzeug")

#: flaskd's one handler, on stderr; its format is set by `setup_logging`.
HANDLER = logging.StreamHandler()


def flaskd_handler() -> logging.Handler:
    """flaskd's handler, for a server's logging configuration (granian's ``dictConfig``)."""
    return HANDLER


def _utc(created: float) -> str:
    """``2026-12-03T09:58:52.123Z``: ISO 8601, UTC, to the millisecond."""
    millis = int(created * 1000)
    return f"{_second(millis // 1000)}.{millis % 1000:03d}Z"


@functools.lru_cache(maxsize=4)
def _second(second: int) -> str:
    # strftime is most of a line's cost: lines come many to a second.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


class TextFormatter(logging.Formatter):
    """``TIME logger: LEVEL: message``, without the time where the journal adds its own."""

    def __init__(self, timestamps: bool) -> None:
        super().__init__("%(name)s: %(levelname)s: %(message)s")
        self.timestamps = timestamps

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return f"{_utc(record.created)} {line}" if self.timestamps else line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time``, ``level``, ``logger``, ``message``, and an access
    record's fields (``method``, ``path``, ``status``...). ``json.dumps`` escapes whatever a
    client sent, so a line stays one valid object."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "access", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def to_journal() -> bool:
    """Whether stderr is the journal (systemd sets ``JOURNAL_STREAM`` to its device:inode),
    which stamps each line with its own time."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return expected == f"{st.st_dev}:{st.st_ino}"


def setup_logging(level: str, fmt: str = "text", config_file: str | None = None) -> None:
    """Send flaskd's and the server's log lines to stderr at ``level``, as text or JSON; or,
    with ``config_file``, apply that ``dictConfig`` file instead."""
    if config_file is not None:
        logging.config.dictConfig(_read_config(config_file))
        return
    HANDLER.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(not to_journal()))
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [HANDLER]
        logger.setLevel(level.upper())
        logger.propagate = False


def _read_config(path: str) -> dict[str, Any]:
    where = f"--log-config {path}"
    file = Path(path)
    if file.suffix not in (".json", ".toml"):
        raise ConfigError(f"{where}: expected a .json or .toml dictConfig file")
    try:
        text = file.read_text()
    except OSError as e:
        raise ConfigError(f"{where}: cannot read it: {e.strerror}") from None
    try:
        data = json.loads(text) if file.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{where}: invalid {file.suffix[1:].upper()}: {e}") from None
    data.setdefault("version", 1)
    data.setdefault("disable_existing_loggers", False)
    try:
        logging.config.dictConfig(dict(data))  # checked here, where the error can be named
    except (ValueError, TypeError, AttributeError, ImportError) as e:
        raise ConfigError(f"{where}: logging rejects it: {e}") from None
    return dict(data)


#: The warnings this process logged, inherited by the workers a server forks from it.
_said: set[str] = set()


def warn(notes: Iterable[str]) -> None:
    """Log each note as a warning, once per process: a pre-fork server's workers do not
    repeat what their main process said before forking them."""
    for note in notes:
        if note not in _said:
            _said.add(note)
            logging.getLogger("flaskd").warning("%s", note)
