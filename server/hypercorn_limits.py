"""hypercorn, made to hold the WebSocket limits it is configured with (CONTRACT §9).

Measured against hypercorn 0.18 / wsproto 1.3 (FIELD-NOTES, "Hostile input"):

- ``WebsocketBuffer.extend`` writes a fragment before comparing the length with
  ``websocket_max_message_size``, and nothing clears the buffer after it raises: every later
  fragment of an oversized frame is appended too (a 256 MiB frame cost the server 256 MiB).
  The event loop that called it then ``break``s out of wsproto's events, so the client's
  answer to the 1009 close frame is left unread and the connection lingers until the
  client gives up (~20 s).
- A peer that stops reading is never noticed: ``writer.drain()`` waits for it forever,
  and so does closing (``wait_closed`` flushes first). hypercorn sends no pings unless
  asked, and never checks that a ping was answered.

Here, with the fewest overrides that fix that: a message is refused once it would pass the
limit (nothing past the limit is kept; the rest of the frame is read and dropped while the
close handshake completes, for at most :data:`REFUSED_GRACE_SECONDS`); the server pings
every ``ping_seconds`` and drops a peer that has not answered the previous ping (unless
writes to it are pending: then it is the send timeout's to judge); a write
that makes no progress for ``send_timeout`` seconds aborts the TCP connection. An aborted
connection reaches the app as an ordinary ``websocket.disconnect``, so its room lets it go.
wsproto already parses frames incrementally (it hands over partial payloads), so no other
layer buffers a whole frame.

One addition, for fan-out (issue #14): over HTTP/1.1, the app may write a binary message
straight to the socket (the ASGI extension :data:`~server.surfaces.websocket.WRITE_NOW`),
framed once for every peer it goes to, instead of going through hypercorn's per-connection
send path (an ASGI message, wsproto framing a copy of the payload, the send lock, ``drain``)
for each of them. It writes only when nothing is waiting to be sent to that peer and its
socket buffer is small: otherwise the app queues as before, and ``drain`` with the send
timeout judges the peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextvars import ContextVar

from hypercorn.asyncio import run as hypercorn_run
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.config import Config
from hypercorn.events import Closed, RawData
from hypercorn.protocol import h2 as hypercorn_h2
from hypercorn.protocol import h11 as hypercorn_h11
from hypercorn.protocol.events import StreamClosed
from hypercorn.protocol.ws_stream import FrameTooLargeError, WebsocketBuffer, WSStream
from wsproto.connection import ConnectionState
from wsproto.events import CloseConnection, Message, Ping, Pong
from wsproto.frame_protocol import CloseReason, FrameProtocol

from server.surfaces.websocket import WRITE_NOW

log = logging.getLogger(__name__)

# After refusing an oversized message, how long the client may take to finish sending it and
# answer the close frame (its bytes are read and dropped meanwhile) before the socket is cut.
# Long enough for a client on a normal link to read the 1009, short enough to bound the cost.
REFUSED_GRACE_SECONDS = 5.0

PING_PAYLOAD = b"playsync"

WRITE_NOW_MAX_BUFFERED = 64 * 1024
"""Past this many bytes waiting in a socket's buffer, messages to it take the queued path."""

# The transport of the TCP connection being served: set by LimitedTCPServer.run, read by the
# WebSocket stream it creates (in the same task), which has no other handle on the socket.
_transport: ContextVar[asyncio.WriteTransport | None] = ContextVar(
    "playsync_transport", default=None
)


class LimitedConfig(Config):
    """hypercorn's Config, plus the two timings it lacks."""

    send_timeout: float = 25.0
    ping_seconds: float | None = 10.0


class BoundedBuffer(WebsocketBuffer):
    """A message buffer that refuses a fragment before storing it, and empties itself."""

    def extend(self, event: Message) -> None:
        if self.length + len(event.data) > self.max_length:
            self.clear()
            raise FrameTooLargeError()
        super().extend(event)


class LimitedWSStream(WSStream):
    """A WebSocket stream that refuses oversized messages at the limit and pings its peer."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.buffer = BoundedBuffer(self.config.websocket_max_message_size)
        self._refused = False
        self._awaiting_pong = False
        self._delivering = False
        self._transport = _transport.get()

    async def _handle_events(self) -> None:
        for event in self.connection.events():
            if isinstance(event, Message):
                await self._receive_message(event)
            elif isinstance(event, Pong):
                self._awaiting_pong = False
            elif isinstance(event, Ping):
                await self._send_wsproto_event(event.response())
            elif isinstance(event, CloseConnection):
                if self.connection.state == ConnectionState.REMOTE_CLOSING:
                    await self._send_wsproto_event(event.response())
                await self.send_stream_closed()

    async def _receive_message(self, event: Message) -> None:
        if self._refused:
            return  # the rest of a refused message: read, never kept
        try:
            self.buffer.extend(event)
        except FrameTooLargeError:
            await self._refuse()
            return
        if event.message_finished:
            message = self.buffer.to_message()
            self.buffer.clear()
            self._delivering = True  # may wait: the app reads a throttled peer slowly
            try:
                await self.app_put(message)
            finally:
                self._delivering = False

    async def _refuse(self) -> None:
        self._refused = True
        limit = self.config.websocket_max_message_size
        log.info("closing a websocket (%s): a message over %d bytes", self.scope["path"], limit)
        await self._send_wsproto_event(
            CloseConnection(
                code=CloseReason.MESSAGE_TOO_BIG, reason=f"messages are limited to {limit} bytes"
            )
        )
        self.task_group.spawn(self._cut_after, REFUSED_GRACE_SECONDS)

    async def send_stream_closed(self) -> None:
        await self.send(StreamClosed(stream_id=self.stream_id))

    async def _accept(self, message) -> None:
        await super()._accept(message)
        if self._transport is not None and self.scope["http_version"].startswith("1"):
            # HTTP/2 streams share the socket with other framing: never written directly.
            self.scope["extensions"][WRITE_NOW] = self._write_now
        interval = getattr(self.config, "ping_seconds", None)
        if interval:
            self.task_group.spawn(self._keep_alive, interval)

    def _write_now(self, payload: bytes) -> bool:
        """Write one binary message to the socket now; False (nothing written) if it cannot."""
        transport = self._transport
        if (
            self.closed
            or transport is None
            or transport.is_closing()
            or self.connection.state != ConnectionState.OPEN
            or transport.get_write_buffer_size() > WRITE_NOW_MAX_BUFFERED
        ):
            return False
        transport.write(server_frame(payload))
        return True

    async def _keep_alive(self, interval: float) -> None:
        """Ping every ``interval``; a peer that left the previous ping unanswered is cut.

        Browsers, Node's ``ws`` and Python's ``websockets`` answer pings by themselves, as
        long as they read: a peer that does not answer within one interval stopped reading.
        """
        while not self.closed:
            await self.context.sleep(interval)
            if self.closed:
                return
            if self._awaiting_pong and self._delivering:
                continue  # we are not reading (the app is behind), so no pong can be seen
            if self._awaiting_pong and self._sending():
                continue  # writes are pending: the send timeout judges this peer (it may
                # still take them and read a close frame queued behind them)
            if self._awaiting_pong:
                log.info("closing a websocket (%s): no answer to a ping", self.scope["path"])
                self._cut()
                return
            self._awaiting_pong = True
            await self._send_wsproto_event(Ping(payload=PING_PAYLOAD))

    async def _cut_after(self, seconds: float) -> None:
        await self.context.sleep(seconds)
        if not self.closed:
            self._cut()

    def _sending(self) -> bool:
        return self._transport is not None and self._transport.get_write_buffer_size() > 0

    def _cut(self) -> None:
        """Abort the TCP connection: the reader sees it closed, and the app a disconnect."""
        if self._transport is not None:
            self._transport.abort()


_last_framed: tuple[bytes | None, bytes] = (None, b"")


def server_frame(payload: bytes) -> bytes:
    """``payload`` as one unmasked binary frame, as wsproto frames it (no extension: the
    server declines permessage-deflate). The same message relayed to N peers is one
    ``bytes`` object, so it is framed once, not N times."""
    global _last_framed
    if _last_framed[0] is not payload:
        _last_framed = (
            payload,
            bytes(FrameProtocol(client=False, extensions=[]).send_data(payload)),
        )
    return _last_framed[1]


class LimitedTCPServer(TCPServer):
    """A TCP connection whose writes give up on a peer that stops reading."""

    async def run(self) -> None:
        _transport.set(self.writer.transport)
        await super().run()

    async def protocol_send(self, event) -> None:
        if not isinstance(event, RawData):
            await super().protocol_send(event)
            return
        async with self.send_lock:
            try:
                self.writer.write(event.data)
                await self._drain()
            except (ConnectionError, RuntimeError):
                await self.protocol.handle(Closed())

    async def _drain(self) -> None:
        """``drain()``, but a peer that takes nothing for ``send_timeout`` is cut off.

        Progress counts, not the total time: a slow reader still gets a large message.
        """
        transport = self.writer.transport
        timeout = getattr(self.config, "send_timeout", None)
        while True:
            pending = transport.get_write_buffer_size()
            try:
                await asyncio.wait_for(self.writer.drain(), timeout)
                return
            except TimeoutError:
                if transport.get_write_buffer_size() >= pending:
                    log.info("cutting a connection: it read nothing for %s s", timeout)
                    transport.abort()
                    raise ConnectionResetError("the peer stopped reading") from None

    async def _close(self) -> None:
        """Close; if the peer will not take what is still queued, abort instead of waiting."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(super()._close(), getattr(self.config, "send_timeout", None))
        transport = self.writer.transport
        if transport.get_write_buffer_size():
            transport.abort()


def install() -> None:
    """Use the limited classes wherever hypercorn creates a connection or a WebSocket stream."""
    hypercorn_run.TCPServer = LimitedTCPServer  # type: ignore[misc]
    hypercorn_h11.WSStream = LimitedWSStream  # type: ignore[misc]
    hypercorn_h2.WSStream = LimitedWSStream  # type: ignore[misc]
