"""The legacy event stream (CONTRACT §3): WebSocket and Server-Sent Events.

Both read the same room :class:`~server.engine.events.EventLog`. A listener is
registered and its backlog computed in one synchronous step, so no event falls
between the replay and the live stream: with ``?since=SEQ`` what it missed (or a
snapshot), without it one ``playlist.updated`` of the whole playlist, because the
original React frontend reconnects without ``since`` and would otherwise keep what
changed in the gap. The client may send ``{"type": "ping", "ts": …}``; anything
else it sends is ignored. The server closes an event socket only with 1000, the
one code (besides an unclean close) after which that frontend reconnects.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator

from quart import Blueprint, Response, g, request, websocket
from quart.wrappers.base import ClientDisconnectedError
from quart_cors import cors_exempt
from quart_schema import document_headers, document_querystring, document_response, tag_blueprint

from api.models import EventStream, StreamHeaders, StreamQuery
from api.validation import playlist_name
from crdt.names import is_playlist_name
from crdt.schema import utc_now_iso
from server.engine.events import Listener, ListenerClosed, Message
from server.engine.room import Room

from .access import EXPIRED, WS_4401_UNAUTHORIZED, Refused, playlist_grant
from .context import app_state

log = logging.getLogger(__name__)

stream = Blueprint("stream", __name__)
tag_blueprint(stream, ["Event stream"])

CONNECTED = json.dumps(
    {"type": "connection.established", "message": "Connected to playlist updates"}
)
WS_1000_NORMAL = 1000
WS_1008_POLICY_VIOLATION = 1008
_connection_ids = itertools.count(1)  # names a listener's connection in log lines
SEND_TIMEOUT = 20.0
"""A listener that takes no message for this long is closed (CONTRACT §9: within 30 s)."""


def _since(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def _subscribe(room: Room, since: int | None) -> tuple[Listener, list[Message]]:
    """Register a listener and return what it missed; no await in between."""
    listener = room.listen()
    if since is None:  # a fresh view: the playlist as it is now
        return listener, [room.snapshot_message()]
    missed = room.events.missed_since(since)
    if missed is None:  # too old (or from before a restart): send the whole playlist
        missed = [room.snapshot_message()]
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
    try:
        grant = playlist_grant(state.authorizer, websocket.args.get("token"), name)
    except Refused as refused:  # after the handshake, so that browsers see the 44xx code
        await websocket.accept()
        await websocket.close(refused.code, refused.reason)
        return
    room = await state.rooms.get(name)
    listener, missed = _subscribe(room, _since(websocket.args.get("since")))
    context = {"playlist": name, "connection": f"events-{next(_connection_ids)}"}
    log.info("event listener joined", extra=context)
    tasks: set[asyncio.Future[None]] = set()
    try:
        await websocket.accept()
        await _send(CONNECTED)
        for message in missed:
            await _send(message.text)
        tasks = {
            asyncio.ensure_future(_answer_pings()),
            asyncio.ensure_future(_forward(listener, state.settings.heartbeat_seconds)),
        }
        if (left := grant.seconds_left()) is not None:  # the token's end is the stream's end
            tasks.add(asyncio.ensure_future(_close_after(left)))
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = task.exception()
            if isinstance(error, TimeoutError):
                raise error
            if error is not None and not isinstance(error, ClientDisconnectedError):
                log.error("event stream of %s failed", name, exc_info=error)
    except ClientDisconnectedError:
        pass
    except TimeoutError:
        log.info("event stream of %s: a listener stopped reading; closed", name)
        await _close_quietly()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        room.unlisten(listener)
        if listener.overflows:  # it fell behind at least once (and got a snapshot instead)
            state.metrics.slow_connections.labels("events").inc()
        log.info("event listener left", extra=context)


async def _close_after(seconds: float) -> None:
    await asyncio.sleep(seconds)
    await websocket.close(WS_4401_UNAUTHORIZED, EXPIRED)


async def _send(text: str) -> None:
    """Send, or raise TimeoutError when the client has not taken it in ``SEND_TIMEOUT``."""
    async with asyncio.timeout(SEND_TIMEOUT):
        await websocket.send(text)


async def _close_quietly() -> None:
    """Close with 1000; a client that reads nothing may never take the close frame."""
    try:
        async with asyncio.timeout(1.0):
            await websocket.close(WS_1000_NORMAL)
    except (TimeoutError, ClientDisconnectedError):
        pass


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


async def _answer_pings() -> None:
    while True:
        raw = await websocket.receive()
        try:
            # NaN and Infinity are not JSON: a pong echoing one would not parse in a browser.
            message = json.loads(raw, parse_constant=_not_json)
        except (ValueError, TypeError, RecursionError):  # deeply nested JSON: RecursionError
            continue
        if isinstance(message, dict) and message.get("type") == "ping":
            await _send(json.dumps({"type": "pong", "ts": message.get("ts")}))


async def _forward(listener: Listener, heartbeat: float) -> None:
    while True:
        try:
            message = await listener.next(heartbeat)
        except ListenerClosed:  # shutdown: 1000 makes the original frontend reconnect
            await websocket.close(1000, "server shutting down")
            return
        await _send(_heartbeat() if message is None else message.text)


# -- Server-Sent Events --------------------------------------------------------


def _give_up(task: asyncio.Task | None, name: str) -> None:
    log.info("event stream of %s: a listener stopped reading; closed", name)
    if task is not None:
        task.cancel()


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
    grant = g.get("grant")  # the token api/auth.py checked, when auth is on
    left = grant.seconds_left() if grant is not None else None
    ends = None if left is None else time.monotonic() + left

    async def events() -> AsyncIterator[str]:
        yield _sse(None, event="connection.established", data=CONNECTED)
        for message in missed:
            yield _sse(message)
        while True:
            wait = heartbeat if ends is None else min(heartbeat, ends - time.monotonic())
            if wait <= 0:
                return  # the token expired: a reconnecting client gets its 401
            try:
                message = await listener.next(wait)
            except ListenerClosed:
                return  # shutdown: the stream ends, EventSource reconnects elsewhere or later
            if message is None:
                yield _sse(None, event="ping", data=_heartbeat())
            else:
                yield _sse(message)

    async def body() -> AsyncIterator[str]:
        """``events()``, each chunk taken by the client within ``SEND_TIMEOUT`` or the
        response is cancelled: a reader that stops reading must not hold its playlist."""
        sending = asyncio.current_task()
        loop = asyncio.get_running_loop()
        try:
            async for chunk in events():
                watchdog = loop.call_later(SEND_TIMEOUT, _give_up, sending, name)
                try:
                    yield chunk
                finally:
                    watchdog.cancel()
        finally:
            room.unlisten(listener)

    response = Response(body(), content_type="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None  # a stream has no end
    return response
