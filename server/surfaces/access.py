"""Access checks of the WebSocket surfaces (``/yjs/``, ``/ws/``): ``?token=`` (CONTRACT §8).

Browsers cannot set headers on a WebSocket, so the token rides in the query.
A refusal is a close code after the handshake, 4401 or 4403: y-websocket
and the legacy frontend see the code (an HTTP refusal shows up in a browser
only as 1006) and do not reconnect after a 44xx.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from server.engine.auth import Authorizer, Forbidden, Grant, Role, Unauthenticated

WS_4401_UNAUTHORIZED = 4401
WS_4403_FORBIDDEN = 4403


EXPIRED = "the token has expired"


class Refused(Exception):
    """The connection may not go on: close it with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason[:120]  # a close reason is at most 123 bytes


def query_token(query_string: bytes) -> str | None:
    """``token`` of an ASGI scope's raw query string."""
    values = parse_qs(query_string.decode("latin-1")).get("token")
    return values[-1] if values else None


def playlist_grant(authorizer: Authorizer, token: str | None, playlist: str) -> Grant:
    """The grant to read ``playlist`` with ``token``, or :class:`Refused`."""
    try:
        return authorizer.grant(token).require(Role.READ, playlist)
    except Unauthenticated as exc:
        raise Refused(WS_4401_UNAUTHORIZED, str(exc)) from None
    except Forbidden as exc:
        raise Refused(WS_4403_FORBIDDEN, str(exc)) from None
