"""Who may open a WebSocket (``/yjs/`` and the event stream ``/ws/``), decided at the handshake.

- A browser page from an origin we do not allow: HTTP 403 ``FORBIDDEN_ORIGIN`` (CONTRACT §8).
- An address past ``max_connections_per_address`` open sockets: HTTP 503 with ``Retry-After``,
  before the handshake completes, so the refusal costs no room and no greeting.
- (``/yjs/`` only, once it knows the room) a playlist past ``max_peers_per_playlist``: the
  connection is accepted and closed with 1013, in ``yjs.py``.

y-websocket 3.1 backs off the same way after either (every close counts as an unsuccessful
attempt until a connection syncs), and neither is permanent for it, as "try again later" says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from quart import Quart, Response, g, websocket

from .browser_origin import FORBIDDEN_ORIGIN, MESSAGE, header, is_allowed_origin
from .context import AppState, app_state
from .websocket import Scope

RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Refusal:
    """An HTTP answer to a WebSocket handshake, in the error shape of CONTRACT §2."""

    status: int
    code: str
    message: str
    details: dict
    retry_after: int | None = None

    def body(self) -> bytes:
        error = {"code": self.code, "message": self.message, "details": self.details}
        return json.dumps({"error": error}).encode()

    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.retry_after is not None:
            headers["retry-after"] = str(self.retry_after)
        return headers


def origin_refusal(
    origin: str | None, host: str | None, allowed: tuple[str, ...]
) -> Refusal | None:
    if is_allowed_origin(origin, host=host, allowed=allowed):
        return None
    return Refusal(403, FORBIDDEN_ORIGIN, MESSAGE, {"origin": origin})


def too_many_refusal(address: str, limit: int) -> Refusal:
    return Refusal(
        503,
        "TOO_MANY_CONNECTIONS",
        f"At most {limit} connections per address",
        {"max_connections_per_address": limit},
        RETRY_AFTER_SECONDS,
    )


def scope_address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def admit(state: AppState, scope: Scope) -> tuple[Refusal | None, str | None]:
    """Origin, then the address's slots. Returns (refusal, None) or (None, address taken)."""
    settings = state.settings
    headers = scope.get("headers", [])
    refusal = origin_refusal(
        header(headers, "origin"), header(headers, "host"), settings.cors_origins
    )
    if refusal is not None:
        return refusal, None
    address = scope_address(scope)
    limit = settings.max_connections_per_address
    if not state.sockets.acquire(address, limit):
        return too_many_refusal(address, limit), None
    return None, address


# -- the event stream's Quart websocket: the same checks as app hooks ---------------------


async def _admit_websocket():
    refusal, address = admit(app_state(), websocket.scope)
    if refusal is not None:
        return Response(refusal.body(), status=refusal.status, headers=refusal.headers())
    g.playsync_address_slot = address
    return None


async def _release_websocket(exc: BaseException | None) -> None:
    address = g.pop("playsync_address_slot", None)
    if address is not None:
        app_state().sockets.release(address)


def register_websocket_admission(app: Quart) -> None:
    """Check every Quart websocket route (the event stream) at its handshake."""
    app.before_websocket(_admit_websocket)
    app.teardown_websocket(_release_websocket)
