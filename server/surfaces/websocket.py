"""A websocket served straight from ASGI, for connections that must not lose frames.

Quart cancels a websocket handler when the client disconnects, dropping
frames it had received but not yet handled (FIELD-NOTES): a Yjs peer that
closes right after its last update would lose it. Here every frame is
handled in order until ``websocket.disconnect``. Outgoing messages go
through a bounded queue drained by one writer task: ``send`` never blocks
and never raises, and a peer that cannot keep up is closed instead of
stalling everyone else. Where the server offers :data:`WRITE_NOW` (ours does,
over HTTP/1.1), a binary message to a peer with nothing queued is written at
once instead, skipping the queue and the writer task.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

# Close codes (RFC 6455 and the y-websocket convention).
WS_1000_NORMAL = 1000
WS_1001_GOING_AWAY = 1001
WS_1003_UNSUPPORTED_DATA = 1003
WS_1007_INVALID_PAYLOAD = 1007
WS_1009_MESSAGE_TOO_BIG = 1009
WS_1011_INTERNAL_ERROR = 1011
WS_1013_TRY_AGAIN_LATER = 1013
WS_4400_REJECTED = 4400  # an update that breaks a rule of CONTRACT §9; 44xx: no retry
WS_4404_UNKNOWN_ROOM = 4404  # 44xx: y-websocket stops reconnecting

DRAIN_SECONDS = 3.0
"""After our close, how long a peer may go on sending before we stop reading it."""

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

WRITE_NOW = "playsync.write_now"
"""ASGI scope extension: ``write_now(payload) -> bool`` writes a binary message to the socket
at once, or returns False (nothing written) when the message must be queued instead."""

_ids = itertools.count(1)


async def refuse_handshake(
    scope: Scope, receive: Receive, send: Send, status: int, body: bytes, headers: dict[str, str]
) -> None:
    """Answer a handshake with an HTTP response instead of accepting it.

    Uses the ASGI ``websocket.http.response`` extension (hypercorn has it); without it,
    a close before accepting, which servers turn into a bare 403.
    """
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    await send({"type": "websocket.http.response.start", "status": status, "headers": raw})
    await send({"type": "websocket.http.response.body", "body": body})


class Closed(Exception):
    """The connection is closing; stop reading."""


class WebSocketConnection:
    def __init__(
        self, scope: Scope, receive: Receive, send: Send, *, queue_size: int, queue_bytes: int
    ) -> None:
        self.scope, self._receive, self._send = scope, receive, send
        self.connection_id = next(_ids)
        self._queue: asyncio.Queue[bytes | str | None] = asyncio.Queue(queue_size)
        self._queued_bytes = 0
        self._max_queued_bytes = queue_bytes
        self._writer: asyncio.Task[None] | None = None
        self._write_now: Callable[[bytes], bool] | None = None
        self._writing = False  # the writer task holds a message it has not finished sending
        self.close_code: int | None = None
        self.close_reason = ""
        self.disconnected = False
        self._read_until: float | None = None  # after close(read_for=…): loop time
        self._peer_gone = False  # websocket.disconnect received

    async def accept(self) -> bool:
        """Complete the handshake; False if the client left before it."""
        message = await self._receive()
        if message["type"] != "websocket.connect":
            return False
        await self._send({"type": "websocket.accept"})
        self._write_now = self.scope.get("extensions", {}).get(WRITE_NOW)
        self._writer = asyncio.create_task(self._write(), name=f"ws-writer:{self.connection_id}")
        return True

    def send(self, message: bytes | str) -> None:
        """Queue a message. Never blocks or raises; a full queue closes the connection."""
        if self.close_code is not None:
            return
        if (
            self._write_now is not None
            and not self._writing
            and self._queue.empty()
            and isinstance(message, bytes)
            and self._write_now(message)
        ):
            return
        size = len(message)
        if self._queue.full() or self._queued_bytes + size > self._max_queued_bytes:
            log.warning("connection %s cannot keep up; closing it", self.connection_id)
            self.close(WS_1013_TRY_AGAIN_LATER, "too slow", drop_queued=True)
            return
        self._queue.put_nowait(message)
        self._queued_bytes += size

    def close(
        self,
        code: int = WS_1000_NORMAL,
        reason: str = "",
        *,
        drop_queued: bool = False,
        read_for: float | None = None,
    ):
        """Close after what is already queued, or at once with ``drop_queued``.

        With ``read_for`` (shutdown), ``receive`` goes on returning the frames that arrived
        before the close, until the disconnect or for that many seconds at most: a peer's
        last updates are not dropped, and one that floods cannot hold the shutdown up.
        """
        if self.close_code is not None:
            return
        self.close_code, self.close_reason = code, reason
        if read_for is not None:
            self._read_until = asyncio.get_running_loop().time() + read_for
        if drop_queued:
            # A peer that cannot keep up: drop what it has not read, so that the close frame
            # is the next thing the writer sends (cancelling the writer sent no close at all).
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queued_bytes = 0
        self._queue.put_nowait(None)

    async def receive(self) -> bytes | str:
        """The next frame; raises :class:`Closed` on disconnect or after ``close()``."""
        if self.close_code is None:
            message = await self._receive()
        elif self._read_until is None:
            raise Closed
        else:
            left = self._read_until - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(self._receive(), max(left, 0))
            except TimeoutError:
                raise Closed from None
        if message["type"] == "websocket.disconnect":
            self.disconnected = self._peer_gone = True
            raise Closed
        if message.get("bytes") is not None:
            return message["bytes"]
        return message.get("text") or ""

    async def finish(self) -> None:
        """Flush the writer and close the socket (call once, in a ``finally``)."""
        if self.close_code is None:
            self.close(WS_1000_NORMAL)
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._writer), timeout=5)
            self._writer.cancel()
        await self._send_close()
        await self._drain_until_disconnect()

    async def _drain_until_disconnect(self) -> None:
        """Read and drop what the peer still sends until it has gone.

        hypercorn hands frames over through a bounded queue: once we stop reading while a
        peer still floods, its reader blocks on that queue, never sees the peer's close
        reply, and the connection (and with it a server shutdown) hangs for good.
        """
        if self._peer_gone:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_SECONDS):
                while (await self._receive())["type"] != "websocket.disconnect":
                    pass
        self._peer_gone = True

    async def _write(self) -> None:
        while True:
            message = await self._queue.get()
            if message is None:
                break
            self._queued_bytes -= len(message)
            self._writing = True
            try:
                if isinstance(message, bytes):
                    await self._send({"type": "websocket.send", "bytes": message})
                else:
                    await self._send({"type": "websocket.send", "text": message})
            except Exception:  # the client is gone; the reader will see the disconnect
                self.disconnected = True
                break
            finally:
                self._writing = False
        await self._send_close()

    async def _send_close(self) -> None:
        if self.disconnected:
            return
        self.disconnected = True
        with contextlib.suppress(Exception):
            await self._send(
                {
                    "type": "websocket.close",
                    "code": self.close_code or WS_1000_NORMAL,
                    "reason": self.close_reason,
                }
            )
