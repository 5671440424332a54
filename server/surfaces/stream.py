"""The legacy event stream (CONTRACT §3): WebSocket and Server-Sent Events.

Both read the same room :class:`~server.engine.events.EventLog`. A listener is
registered and its backlog (``?since=SEQ``) computed in one synchronous step,
so no event falls between the replay and the live stream. The client may
send ``{"type": "ping", "ts": …}``; anything else it sends is ignored.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from quart import Blueprint, Response, request, websocket
from quart.wrappers.base import ClientDisconnectedError
from quart_cors import cors_exempt
from quart_schema import document_headers, document_querystring, document_response, tag_blueprint

from api.models import EventStream, StreamHeaders, StreamQuery
from api.validation import playlist_name
from crdt.diff import snapshot
from crdt.names import is_playlist_name
from crdt.schema import utc_now_iso
from server.engine.events import Listener, Message, Overflowed
from server.engine.room import Room

from .context import app_state

log = logging.getLogger(__name__)

stream = Blueprint("stream", __name__)
tag_blueprint(stream, ["Event stream"])

CONNECTED = json.dumps(
    {"type": "connection.established", "message": "Connected to playlist updates"}
)
WS_1008_POLICY_VIOLATION = 1008


def _since(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def _subscribe(room: Room, since: int | None) -> tuple[Listener, list[Message]]:
    """Register a listener and return what it missed; no await in between."""
    listener = room.listen()
    if since is None:
        return listener, []
    missed = room.events.missed_since(since)
    if missed is None:  # too old (or from before a restart): send the whole playlist
        missed = [room.events.render(snapshot(room.playlist))]
    return listener, missed


def _heartbeat() -> str:
    return json.dumps({"type": "ping", "ts": utc_now_iso()})


# -- WebSocket ---------------------------------------------------------------


@stream.websocket("/ws/playlist/", defaults={"name": "default"})
@stream.websocket("/ws/playlists/<name>/")
@cors_exempt  # no credentials ride on this socket; non-browser clients send no Origin
async def events_websocket(name: str):
    state = app_state()
    if not is_playlist_name(name):
        await websocket.close(WS_1008_POLICY_VIOLATION, "invalid playlist name")
        return
    room = await state.rooms.get(name)
    listener, missed = _subscribe(room, _since(websocket.args.get("since")))
    tasks: set[asyncio.Future[None]] = set()
    try:
        await websocket.accept()
        await websocket.send(CONNECTED)
        for message in missed:
            await websocket.send(message.text)
        tasks = {
            asyncio.ensure_future(_answer_pings()),
            asyncio.ensure_future(_forward(listener, state.settings.heartbeat_seconds)),
        }
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = task.exception()
            if error is not None and not isinstance(error, ClientDisconnectedError):
                log.error("event stream of %s failed", name, exc_info=error)
    except ClientDisconnectedError:
        pass
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        room.unlisten(listener)


async def _answer_pings() -> None:
    while True:
        raw = await websocket.receive()
        try:
            message = json.loads(raw)
        except (ValueError, TypeError, RecursionError):  # deeply nested JSON: RecursionError
            continue
        if isinstance(message, dict) and message.get("type") == "ping":
            await websocket.send(json.dumps({"type": "pong", "ts": message.get("ts")}))


async def _forward(listener: Listener, heartbeat: float) -> None:
    while True:
        try:
            message = await listener.next(heartbeat)
        except Overflowed:
            await websocket.close(1013, "too slow; reconnect with ?since=")
            return
        await websocket.send(_heartbeat() if message is None else message.text)


# -- Server-Sent Events --------------------------------------------------------


def _sse(message: Message | None, *, event: str | None = None, data: str = "") -> str:
    if message is not None:
        return f"event: {message.type}\nid: {message.seq}\ndata: {message.text}\n\n"
    return f"event: {event}\ndata: {data}\n\n"


@stream.get("/api/stream", defaults={"name": "default"})
@stream.get("/api/playlists/<name>/stream")
@document_querystring(StreamQuery)
@document_headers(StreamHeaders)
@document_response(EventStream)
async def events_sse(name: str):
    """Events of the playlist, as Server-Sent Events

    The same events as the WebSocket event stream (see the API description), starting with
    `connection.established`, with a `ping` heartbeat while nothing happens.
    """
    state = app_state()
    room = await state.rooms.get(playlist_name(name))
    since = _since(request.args.get("since") or request.headers.get("Last-Event-ID"))
    listener, missed = _subscribe(room, since)
    heartbeat = state.settings.heartbeat_seconds

    async def body() -> AsyncIterator[str]:
        try:
            yield _sse(None, event="connection.established", data=CONNECTED)
            for message in missed:
                yield _sse(message)
            while True:
                message = await listener.next(heartbeat)
                if message is None:
                    yield _sse(None, event="ping", data=_heartbeat())
                else:
                    yield _sse(message)
        except Overflowed:
            return  # the client's EventSource reconnects with Last-Event-ID
        finally:
            room.unlisten(listener)

    response = Response(body(), content_type="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None  # a stream has no end
    return response
