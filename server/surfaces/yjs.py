"""``/yjs/{name}``: the y-websocket endpoint on the playlist's room (CONTRACT §4).

``new WebsocketProvider("ws://host:4000/yjs", "default", doc)`` connects here.
The peer joins the same room object REST writes through, so its edits are
stored, repaired and turned into legacy events like any other change. A bad
frame closes this connection only, before anything is applied.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING
from urllib.parse import unquote

from crdt.names import is_playlist_name
from server.engine.room import Room
from server.engine.sync import PeerSession, ProtocolError, forget_peer, greeting, handle_message

from .admission import admit
from .context import AppState
from .throttle import TokenBucket
from .websocket import (
    WS_1003_UNSUPPORTED_DATA,
    WS_1007_INVALID_PAYLOAD,
    WS_1009_MESSAGE_TOO_BIG,
    WS_1011_INTERNAL_ERROR,
    WS_1013_TRY_AGAIN_LATER,
    WS_4404_UNKNOWN_ROOM,
    Closed,
    Receive,
    Scope,
    Send,
    WebSocketConnection,
    refuse_handshake,
)

if TYPE_CHECKING:  # settings belong to the entry points; surfaces only read them
    from server.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "/yjs/"


def is_yjs_scope(scope: Scope) -> bool:
    return scope["type"] == "websocket" and scope["path"].startswith(PREFIX)


async def serve_yjs(state: AppState, scope: Scope, receive: Receive, send: Send) -> None:
    refusal, address = admit(state, scope)  # origin, then connections per address
    if refusal is not None:
        body, headers = refusal.body(), refusal.headers()
        await refuse_handshake(scope, receive, send, refusal.status, body, headers)
        return
    try:
        await _serve_peer(state, scope, receive, send)
    finally:
        state.sockets.release(address)


async def _serve_peer(state: AppState, scope: Scope, receive: Receive, send: Send) -> None:
    settings = state.settings
    conn = WebSocketConnection(
        scope, receive, send, queue_size=settings.peer_queue, queue_bytes=settings.peer_queue_bytes
    )
    if not await conn.accept():
        return
    name = unquote(scope["path"][len(PREFIX) :]).strip("/")
    if not is_playlist_name(name):
        conn.close(WS_4404_UNKNOWN_ROOM, "invalid playlist name")
        await conn.finish()
        return
    room = await state.rooms.get(name)
    if settings.max_peers_per_playlist and len(room.peers) >= settings.max_peers_per_playlist:
        conn.close(WS_1013_TRY_AGAIN_LATER, "too many peers on this playlist; try again later")
        await conn.finish()
        return
    session = PeerSession(conn)
    room.add_peer(conn)
    try:
        for message in greeting(room):
            conn.send(message)
        await _pump(room, session, conn, state.settings.max_message_bytes, _reader_budget(settings))
    finally:
        # Shielded: the peer's departure must be processed even if we are being cancelled.
        await asyncio.shield(_leave(room, session, conn))


def _reader_budget(settings: Settings) -> TokenBucket | None:
    """The peer's bytes per second; the burst lets one largest message through at once."""
    rate = settings.peer_bytes_per_second
    return TokenBucket(rate, max(rate, settings.max_message_bytes)) if rate else None


async def _pump(
    room: Room,
    session: PeerSession,
    conn: WebSocketConnection,
    max_bytes: int,
    budget: TokenBucket | None = None,
) -> None:
    """Handle the peer's frames in order until it leaves or a frame closes it.

    Past its byte budget the peer is read more slowly, never dropped (CONTRACT §9): the wait
    comes before the next read, so its frames pile up in hypercorn's small per-connection
    queue, then in TCP, and a sender that writes faster than the budget is held back.
    """
    while True:
        if budget is not None and (wait := budget.wait()) > 0:
            await asyncio.sleep(wait)
        try:
            frame = await conn.receive()
        except Closed:
            return
        if isinstance(frame, str):
            conn.close(WS_1003_UNSUPPORTED_DATA, "binary frames only")
            return
        if len(frame) > max_bytes:
            conn.close(WS_1009_MESSAGE_TOO_BIG, f"frames are limited to {max_bytes} bytes")
            return
        if budget is not None:
            budget.debit(len(frame))
        try:
            handle_message(room, session, frame)
        except ProtocolError as exc:
            log.info("yjs %s: closing connection %s: %s", room.name, conn.connection_id, exc)
            conn.close(WS_1007_INVALID_PAYLOAD, str(exc)[:120])
            return
        except Exception:
            log.exception("yjs %s: error handling a frame", room.name)
            conn.close(WS_1011_INTERNAL_ERROR, "internal error")
            return


async def _leave(room: Room, session: PeerSession, conn: WebSocketConnection) -> None:
    room.remove_peer(conn)
    forget_peer(room, session)
    await conn.finish()
