"""Which browser origins may drive this server (CONTRACT §8, last point).

CORS alone does not protect a write: a page elsewhere can send a ``text/plain`` POST
without a preflight, and a WebSocket handshake is never preflighted. So every REST write and
both WebSocket handshakes check ``Origin`` themselves: allowed are the CORS allow-list and
the server's own origin (a page it served itself, ``scheme://<Host header>``). A request
without ``Origin`` is not from a browser page (scripts, curl) and is not affected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

FORBIDDEN_ORIGIN = "FORBIDDEN_ORIGIN"
MESSAGE = "Requests from this browser origin are not allowed"

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _normalized(origin: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an origin, or None when it is not one (``null``, junk)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def is_allowed_origin(origin: str | None, *, host: str | None, allowed: Iterable[str]) -> bool:
    """Whether a request carrying this ``Origin`` header may write.

    ``host`` is the request's Host header. The server's own origin matches on host and port,
    read with the origin's scheme (so a page served through a TLS-terminating proxy, https
    outside and http here, still counts as ours).
    """
    if origin is None:
        return True
    parsed = _normalized(origin)
    if parsed is None:
        return False  # "null" (file://, sandboxed frames) or not an origin at all
    if any(entry.strip() == "*" or _normalized(entry) == parsed for entry in allowed):
        return True
    own = _normalized(f"{parsed[0]}://{host}") if host else None
    return own is not None and own == parsed


def header(headers: Iterable[tuple[bytes, bytes]] | Mapping[str, str], name: str) -> str | None:
    """One header of an ASGI scope (bytes pairs) or of a mapping, or None."""
    if isinstance(headers, Mapping):
        return headers.get(name)
    wanted = name.lower().encode()
    for key, value in headers:
        if key.lower() == wanted:
            return value.decode("latin-1")
    return None
