"""WSGI middleware that makes every backend behave the same.

The backends disagree on proxy headers (waitress rewrites them for one
trusted address, gunicorn only sets the scheme, granian does nothing) and
only some have an access log or a body limit. flaskd turns theirs off and
does all three here, once.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wsgi import LimitedStream

from ._state import READY, state

if TYPE_CHECKING:
    from ._settings import Serve

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

access_log = logging.getLogger("flaskd.access")

_FORWARDED = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
)


#: The environ key where flaskd notes that the request came through a trusted proxy.
TRUSTED = "flaskd.trusted_proxy"
#: The environ key of the request's ID.
REQUEST_ID = "flaskd.request_id"


def wrap(app: WSGIApp, config: Serve) -> WSGIApp:
    """Wrap ``app`` in the middleware the serving options ask for."""
    app = BodyLimit(app, config.max_request_body)
    if config.request_id:
        app = RequestIds(app)
    app = TrustedProxies(app, config.forwarded_allow_ips)
    if config.access_log:
        app = AccessLog(app)
    if config.ready_path or config.live_path:
        app = Health(app, config.ready_path, config.live_path)  # outside the log
    return app


class Health:
    """Answer the readiness and liveness paths before the app sees the request.

    Readiness: 200 ``ready`` once every process of the server ran its start-up hooks and
    no stop has begun, else 503 ``starting`` or ``stopping``. Liveness: 200 ``alive`` whenever the
    process answers, draining too (a liveness probe must not kill a draining pod).
    """

    def __init__(self, app: WSGIApp, ready_path: str | None, live_path: str | None) -> None:
        self.app = app
        self.ready_path = ready_path
        self.live_path = live_path

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == self.ready_path:
            phase = state.phase
            status = "200 OK" if phase == READY else "503 Service Unavailable"
        elif path == self.live_path:
            phase, status = "alive", "200 OK"
        else:
            return self.app(environ, start_response)
        # Probes come every few seconds: not in the access log, but at --log-level debug.
        if access_log.isEnabledFor(logging.DEBUG):
            access_log.debug("probe %s: %s", escape(path), status)
        return _answer(start_response, status, phase)


def _answer(start_response: Callable[..., Any], status: str, word: str) -> list[bytes]:
    body = f"{word}\n".encode()
    start_response(
        status,
        [
            ("Content-Type", "text/plain"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [body]


class TrustedProxies:
    """Honour X-Forwarded-For/Proto/Host from trusted proxies only; drop them from anyone else.

    From a trusted peer, Werkzeug's `ProxyFix` applies the headers (one proxy
    hop). From any other peer the headers are removed, so the app cannot be
    fooled about the client's address or scheme. A peer on a unix socket has
    no address (``REMOTE_ADDR`` is empty on every backend): ``unix`` in
    ``trusted`` trusts those peers, whom the socket file's mode lets in.
    """

    def __init__(self, app: WSGIApp, trusted: Sequence[str]) -> None:
        self.app = app
        self.unix = "unix" in trusted
        self.networks = [ipaddress.ip_network(t, strict=False) for t in trusted if t != "unix"]
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self._is_trusted(environ.get("REMOTE_ADDR", "")):
            environ[TRUSTED] = True
            return self.fixed(environ, start_response)
        for key in _FORWARDED:
            environ.pop(key, None)
        return self.app(environ, start_response)

    def _is_trusted(self, peer: str) -> bool:
        if not peer:
            return self.unix
        if not self.networks:
            return False
        try:
            address = ipaddress.ip_address(peer.removeprefix("::ffff:"))
        except ValueError:
            return False
        return any(address in network for network in self.networks)


class RequestIds:
    """Give each request an ID: a trusted proxy's ``X-Request-ID``, or else a new one.

    It is in the environ (``flaskd.request_id``, and as the ``X-Request-ID`` header the
    app reads), in the access log, and in the response's ``X-Request-ID``.
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        given = environ.get("HTTP_X_REQUEST_ID", "")
        if environ.get(TRUSTED) and _REQUEST_ID.fullmatch(given):
            request_id = given
        else:  # a client's own is not trusted: it could collide with another's on purpose
            request_id = environ["HTTP_X_REQUEST_ID"] = _new_id()
        environ[REQUEST_ID] = request_id

        def add_id(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            for name, _ in headers:
                if len(name) == 12 and name.lower() == "x-request-id":  # the app set its own
                    break
            else:
                headers = [*headers, ("X-Request-ID", request_id)]
            return start_response(status, headers, exc_info)

        return self.app(environ, add_id)


class _Ids:
    """Unique request IDs, cheaply: a random prefix for this process (a new one in each
    forked worker) and a counter. An ID tells requests apart; it is no secret."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix = os.urandom(10).hex()
        self.count = itertools.count()

    def __call__(self) -> str:
        return f"{self.prefix}{next(self.count):012x}"


_new_id = _Ids()


#: A request ID taken from a proxy: short, and nothing a log line or a header could trip on.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,200}")


class BodyLimit:
    """Answer 413 to a request whose body is larger than ``limit`` bytes.

    A declared length over the limit is answered at once. A body of unknown length
    (chunked) is read through a `LimitedStream` that raises `RequestEntityTooLarge`,
    which Flask answers with 413, once the app reads past the limit.
    """

    def __init__(self, app: WSGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = environ.get("CONTENT_LENGTH")
        if not length:
            # HTTP/1.1 without Transfer-Encoding has no body (RFC 9112 6.3); HTTP/2 has no
            # Transfer-Encoding and may send a body of any length.
            if "HTTP_TRANSFER_ENCODING" in environ or environ.get("SERVER_PROTOCOL") == "HTTP/2":
                stream = environ["wsgi.input"] = _UnknownLength(environ["wsgi.input"], self.limit)
                response = self.app(environ, start_response)
                stream.forget_error()
                return response
        elif length.isdigit() and int(length) > self.limit:
            body = f"Request body larger than {self.limit} bytes\n".encode()
            start_response(
                "413 Content Too Large",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
            )
            return [body]
        elif length.isdigit() and length != "0":
            # A body cut short then raises ClientDisconnected (400) in the app: granian and
            # gunicorn end the input early, werkzeug trusts them (wsgi.input_terminated).
            environ["wsgi.input"] = LimitedStream(environ["wsgi.input"], int(length))
        return self.app(environ, start_response)


class _UnknownLength(LimitedStream):
    """The input of a body of unknown length: reading a byte past ``limit`` raises.

    Werkzeug's `LimitedStream` alone stops quietly at its limit, so it is given one
    byte more, and reading that byte raises `RequestEntityTooLarge`.
    """

    def __init__(self, stream: Any, limit: int) -> None:
        super().__init__(stream, limit + 1, is_max=True)
        self.error: RequestEntityTooLarge | None = None

    def readinto(self, b: bytearray) -> int | None:  # type: ignore[override]
        size = super().readinto(b)
        if self._pos == self.limit:
            self.error = RequestEntityTooLarge()
            raise self.error
        return size

    def forget_error(self) -> None:
        """Drop the traceback of the error raised, once the app has answered it.

        Flask keeps the error (its response) in a frame of its traceback: a cycle that
        holds the body read so far, up to the limit, until the cycle collector runs
        (seen: a gunicorn worker at 429 MB after six 413s).
        """
        if self.error is not None:
            self.error.__traceback__ = None
            self.error = None


class AccessLog:
    """Log one line per request, like Apache's combined format plus the duration and the
    request's ID; a JSON line carries the same as fields (`_Logged`).

    ``127.0.0.1 - - [24/Nov/2026:16:00:00 +0000] "GET /notes HTTP/1.1" 200 27 "-" "curl/8"
    1.2ms 5f0c...`` (on one line)
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        status = ["-"]

        def record_status(code: str, headers: Any, exc_info: Any = None) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, exc_info)

        body = self.app(environ, record_status)
        return _Logged(body, environ, status, started)


#: What the access log writes in place of a byte a client could use to forge a line or
#: drive a terminal: control bytes, DEL and above, the quote and the backslash (as nginx does).
_ESCAPES = {c: f"\\x{c:02X}" for c in (*range(0x20), *range(0x7F, 0x100), ord('"'), ord("\\"))}


def escape(text: str) -> str:
    """``text`` from a client, made safe for one log line: unsafe bytes become ``\\xXX``.

    WSGI strings hold bytes as latin-1; a character above it (a backend that decodes
    UTF-8) is escaped as its UTF-8 bytes.
    """
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return text
    return "".join(
        _ESCAPES.get(ord(c), c) if ord(c) < 0x100 else "".join(f"\\x{b:02X}" for b in c.encode())
        for c in text
    )


class _Logged:
    """A response body that logs its request's line once it has been sent."""

    def __init__(
        self, body: Iterable[bytes], environ: dict[str, Any], status: list[str], started: float
    ) -> None:
        self.body = body
        self.environ = environ
        self.status = status
        self.started = started
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.size += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self._log()

    def _log(self) -> None:
        e = self.environ
        path = e.get("SCRIPT_NAME", "") + e.get("PATH_INFO", "")
        if e.get("QUERY_STRING"):
            path += "?" + e["QUERY_STRING"]
        when = time.strftime("%d/%b/%Y:%H:%M:%S %z")
        elapsed = (time.perf_counter() - self.started) * 1000
        # The fields a JSON line carries, as the client sent them: JSON escapes them.
        record = {
            "method": e.get("REQUEST_METHOD"),
            "path": path,
            "status": int(self.status[0]) if self.status[0].isdigit() else None,
            "bytes": self.size,
            "duration_ms": round(elapsed, 1),
            "remote_addr": e.get("REMOTE_ADDR") or None,
            "user_agent": e.get("HTTP_USER_AGENT"),
            "request_id": e.get(REQUEST_ID),
        }
        access_log.info(
            '%s - - [%s] "%s %s %s" %s %d "%s" "%s" %.1fms%s',
            escape(e.get("REMOTE_ADDR") or "-"),  # a trusted proxy's X-Forwarded-For
            when,
            escape(e.get("REQUEST_METHOD", "-")),
            escape(path),
            escape(e.get("SERVER_PROTOCOL", "-")),
            self.status[0],
            self.size,
            escape(e.get("HTTP_REFERER", "-")),
            escape(e.get("HTTP_USER_AGENT", "-")),
            elapsed,
            f" {record['request_id']}" if record["request_id"] else "",  # checked, or ours
            extra={"access": record},
        )
