"""The head of a request (request line and header fields), checked as it arrives.

waitress and gunicorn each check the head only once it is complete (waitress
has no limit on the number of fields at all), so a client can make them
buffer and parse a huge head. `HeadScanner` checks every line as its bytes
come in, against the same limits on both backends, and says where the head
ends: the backends refuse an oversized head at its first byte too many, and
gunicorn's worker hands a connection to a thread only once its head is
complete.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._settings import Serve


@dataclasses.dataclass(frozen=True)
class Limits:
    """The limits on a request's head, and the time limits of a connection, in seconds."""

    request_line: int
    fields: int
    field_size: int
    idle: float
    header: float
    body: float

    @classmethod
    def from_config(cls, config: Serve) -> Limits:
        return cls(
            request_line=config.max_request_line,
            fields=config.max_header_fields,
            field_size=config.max_header_size,
            idle=config.idle_timeout,
            header=config.header_timeout,
            body=config.body_timeout,
        )

    @functools.cached_property
    def shortest_line(self) -> int:
        """The lower of the limits on the request line and on a field."""
        return min(self.request_line, self.field_size)

    @property
    def first_byte(self) -> float:
        """Seconds a new connection may wait before its first byte: the idle timeout, or with
        ``--idle-timeout 0`` (no keep-alive) the header timeout."""
        return self.idle or self.header


def _whole_head(data: bytes, limits: Limits) -> int:
    """Where the head ends in ``data`` (the first chunk of a request), if it is all there and
    within every limit at a glance, else -1 (`HeadScanner` looks line by line).

    Most heads come whole in one chunk, every line ended by CRLF, shorter in all than any
    one line may be: then no line can be over a limit, and the first blank line is the
    first CRLF CRLF.
    """
    end = data.find(b"\r\n\r\n", 0, limits.shortest_line + 4)
    if end > 0:
        lines = data.count(b"\n", 0, end)
        if lines <= limits.fields and lines == data.count(b"\r\n", 0, end):
            return end + 4
    return -1


class HeadTooLarge(Exception):
    """A head over a limit: the status to answer (414 or 431) and why."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason

    def response(self) -> bytes:
        """The whole HTTP response that refuses the request and closes the connection."""
        body = f"{self.reason}: {self}\n".encode()
        return (
            f"HTTP/1.1 {self.status} {self.reason}\r\nConnection: close\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body


class HeadScanner:
    """Follow one request's head through the chunks it arrives in.

    `feed` raises `HeadTooLarge` as soon as the request line or a field is
    longer than its limit (even before its line ends), or there is one field
    too many; it returns how much of the chunk is head once the blank line that
    ends the head has come. Blank lines before the request line are skipped, as
    both servers do. Each byte is looked at once, and at most one line is kept.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._partial = b""  # the start of a line whose end has not come yet
        self._lines = 0  # complete lines: the request line, then the fields
        self.complete = False

    def feed(self, data: bytes) -> int:
        """Scan ``data``; return how many of its bytes end the head, or -1 if it goes on."""
        if not self._lines and not self._partial:
            end = _whole_head(data, self.limits)
            if end >= 0:
                self.complete = True
                return end
        buf = self._partial + data
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                self._partial = buf[start:]
                self._check(len(self._partial.removesuffix(b"\r")))
                return -1
            length = len(buf[start:end].removesuffix(b"\r"))
            if length:
                self._check(length)
                self._lines += 1
                if self._lines - 1 > self.limits.fields:
                    raise HeadTooLarge(
                        431,
                        "Request Header Fields Too Large",
                        f"more than {self.limits.fields} header fields",
                    )
            elif self._lines:
                self.complete = True
                self._partial = b""
                return end + 1 - (len(buf) - len(data))
            start = end + 1

    def _check(self, length: int) -> None:
        if not self._lines:
            if length > self.limits.request_line:
                raise HeadTooLarge(
                    414, "URI Too Long", f"request line over {self.limits.request_line} bytes"
                )
        elif length > self.limits.field_size:
            raise HeadTooLarge(
                431,
                "Request Header Fields Too Large",
                f"a header field over {self.limits.field_size} bytes",
            )
