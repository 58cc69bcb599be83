"""granian's HTTP settings from flaskd's, and the header limits granian leaves to flaskd.

granian parses requests in Rust (hyper), and hyper times a request's head with
one clock: it starts when the connection waits for a request (just opened, or
its last response sent) and closes the connection unless the request line and
headers are complete in time; a trickle does not reset it. flaskd sets that
clock to the shorter of ``idle_timeout`` and ``header_timeout``, so neither is
ever exceeded (an idle keep-alive connection is closed at ``header_timeout``
when that is shorter). HTTP/2 is off unless ``http2`` asks for it: hyper's
HTTP/2 has no such clock, and while it looks for the HTTP/2 preface it has
none at all (a silent connection would stay open for ever).

hyper refuses more than 100 header fields (431) and a head larger than its
buffer (431), but not a request line or one field over a size, nor too many
fields in HTTP/2: `HeaderLimits` answers those from what granian hands the app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from granian.constants import HTTPModes
from granian.http import HTTP1Settings, HTTP2Settings

from .._errors import ConfigError
from .._middleware import WSGIApp

if TYPE_CHECKING:
    from .._settings import Serve

#: granian names environ keys as WSGI says (HTTP_ + the name upper-cased, "-" as "_") and
#: hands the app nothing else, so X_Forwarded_For and X-Forwarded-For are one key, either's
#: value, and flaskd cannot drop the first as waitress and gunicorn do.
UNDERSCORE_WARNING = (
    "granian cannot tell X_Forwarded_For from X-Forwarded-For: the trusted proxy must drop"
    " client header names with underscores (nginx does unless underscores_in_headers is on),"
    " or a client can set its address and scheme"
)
#: hyper's limit on the header fields of an HTTP/1 request; granian cannot raise it.
HYPER_MAX_HEADERS = 100
#: Streams one HTTP/2 connection may have open at once (RFC 9113 6.5.2: at least 100).
MAX_STREAMS = 100


def check_limits(config: Serve) -> None:
    """Raise `ConfigError` for a header limit granian cannot honour."""
    fields = config.max_header_fields
    if fields > HYPER_MAX_HEADERS:
        raise ConfigError(
            f"{config.source('max_header_fields')}: granian cannot honour max_header_fields"
            f" {fields}: hyper"
            f" refuses more than {HYPER_MAX_HEADERS} header fields; give at most"
            f" {HYPER_MAX_HEADERS}, or choose waitress or gunicorn"
        )


def http_mode(config: Serve) -> HTTPModes:
    """HTTP/1.1 only, or HTTP/1.1 and cleartext HTTP/2 when ``http2`` asks for it."""
    return HTTPModes.auto if config.http2 else HTTPModes.http1


def head_size(config: Serve) -> int:
    """The largest request head the limits allow: hyper's buffer must hold it."""
    fields = config.max_header_fields * (config.max_header_size + 4)
    return int(config.max_request_line + 2 + fields)


def http1_settings(config: Serve) -> HTTP1Settings:
    idle, header = config.idle_timeout, config.header_timeout
    clock = min(idle, header) if idle > 0 else header
    return HTTP1Settings(
        header_read_timeout=max(1, round(clock * 1000)),
        keep_alive=idle > 0,  # 0: close each connection after its response
        max_buffer_size=max(8192, head_size(config)),  # hyper's minimum is 8192
    )


def http2_settings(config: Serve) -> HTTP2Settings:
    idle = config.idle_timeout
    return HTTP2Settings(
        # Pings at the idle timeout close a connection whose peer is gone (not an idle one).
        keep_alive_interval=round(idle * 1000) or None,
        max_concurrent_streams=MAX_STREAMS,
        # HPACK counts 32 bytes more per field.
        max_headers_size=head_size(config) + 28 * config.max_header_fields,
    )


class HeaderLimits:
    """Answer 414 to a request line, and 431 to a header field or a number of fields, over
    the limits, where hyper lets them through.

    granian hands the app the path percent-decoded, so the request line is measured with
    the decoded path (a shorter line than the client sent); repeated fields come joined
    by commas, and count as one field of their joined size.
    """

    def __init__(self, app: WSGIApp, config: Serve) -> None:
        self.app = app
        self.max_line = config.max_request_line
        self.max_fields = config.max_header_fields
        self.max_size = config.max_header_size

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        query = environ.get("QUERY_STRING", "")
        line = (
            len(environ.get("REQUEST_METHOD", ""))
            + len(environ.get("PATH_INFO", ""))
            + (len(query) + 1 if query else 0)
            + len(environ.get("SERVER_PROTOCOL", ""))
            + 2
        )
        if line > self.max_line:
            return _refuse(start_response, "414 URI Too Long", "Request line too long")
        fields = 0
        for key, value in environ.items():
            if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                fields += 1
                name = len(key) - 5 if key.startswith("HTTP_") else len(key)
                if name + 2 + len(value) > self.max_size:  # name ": " value
                    return _refuse(start_response, _TOO_LARGE, "Header field too large")
        if fields > self.max_fields:
            return _refuse(start_response, _TOO_LARGE, "Too many header fields")
        return self.app(environ, start_response)


_TOO_LARGE = "431 Request Header Fields Too Large"


def _refuse(start_response: Callable[..., Any], status: str, message: str) -> list[bytes]:
    body = f"{message}\n".encode()
    headers = [
        ("Content-Type", "text/plain"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ]
    start_response(status, headers)
    return [body]
