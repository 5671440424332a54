"""``/yjs/{name}``: the y-websocket endpoint on the playlist's room (CONTRACT §4).

``new WebsocketProvider("ws://host:4000/yjs", "default", doc)`` connects here.
The peer joins the same room object REST writes through, so its edits are
stored, repaired and turned into legacy events like any other change. A bad
frame closes this connection only, before anything is applied.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import unquote

from crdt.names import is_playlist_name
from server.engine.gate import Rejected
from server.engine.room import Room
from server.engine.sync import PeerSession, ProtocolError, forget_peer, greeting, handle_message

from .context import AppState
from .websocket import (
    WS_1003_UNSUPPORTED_DATA,
    WS_1007_INVALID_PAYLOAD,
    WS_1009_MESSAGE_TOO_BIG,
    WS_1011_INTERNAL_ERROR,
    WS_4400_REJECTED,
    WS_4404_UNKNOWN_ROOM,
    Closed,
    Receive,
    Scope,
    Send,
    WebSocketConnection,
)

log = logging.getLogger(__name__)

PREFIX = "/yjs/"


def is_yjs_scope(scope: Scope) -> bool:
    return scope["type"] == "websocket" and scope["path"].startswith(PREFIX)


async def serve_yjs(state: AppState, scope: Scope, receive: Receive, send: Send) -> None:
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
    session = PeerSession(conn)
    room.add_peer(conn)
    try:
        for message in greeting(room):
            conn.send(message)
        await _pump(room, session, conn, state.settings.max_message_bytes)
    finally:
        # Shielded: the peer's departure must be processed even if we are being cancelled.
        await asyncio.shield(_leave(room, session, conn))


async def _pump(
    room: Room, session: PeerSession, conn: WebSocketConnection, max_bytes: int
) -> None:
    while True:
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
        try:
            handle_message(room, session, frame)
        except Rejected as exc:
            log.info(
                "yjs %s: rejected an update of connection %s: %s",
                room.name,
                conn.connection_id,
                exc,
            )
            conn.close(WS_4400_REJECTED, _close_reason(exc.reason))
            return
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


def _close_reason(reason: str) -> str:
    """A close frame's reason holds at most 123 bytes of UTF-8."""
    return reason.encode()[:120].decode(errors="ignore")
