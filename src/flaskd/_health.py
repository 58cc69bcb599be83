"""`flaskd health URL`: a health check for a container's HEALTHCHECK, in an image without curl."""

from __future__ import annotations

import math
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ._errors import ConfigError


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a 200: it is not followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


#: No proxy (a check of the service's own address must not go through $HTTP_PROXY), no
#: redirects.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects)


def check(url: str, timeout_text: str) -> tuple[bool, str]:
    """GET ``url``: whether it answered 200 within ``timeout_text`` seconds, and one line
    saying so.

    Raises `ConfigError` for a URL that is not http(s)://HOST..., or a timeout that is no
    number of seconds above 0.
    """
    try:
        timeout = float(timeout_text)
    except ValueError:
        timeout = 0
    if not (math.isfinite(timeout) and timeout > 0):
        raise ConfigError(
            f"flag --timeout: invalid value {timeout_text!r}: expected a number of seconds above 0"
        )
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"URL {url!r}: expected http://HOST:PORT/PATH (or https://)")
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            status, body = response.status, response.read(200)
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read(200)
    except TimeoutError:
        return False, f"unhealthy: {url}: no answer within {timeout:g} s"
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            return False, f"unhealthy: {url}: no answer within {timeout:g} s"
        reason = e.reason.strerror if isinstance(e.reason, OSError) else e.reason
        return False, f"unhealthy: {url}: {reason or e}"
    except (OSError, ValueError) as e:  # a connection reset, a malformed answer
        return False, f"unhealthy: {url}: {e}"
    said = body.decode(errors="replace").strip().splitlines()
    detail = f" {said[0][:80]!r}" if said and status != 200 else ""
    return status == 200, f"{'healthy' if status == 200 else 'unhealthy'}: {url}: {status}{detail}"
