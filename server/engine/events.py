"""The legacy event stream of one playlist: seqs, a resume buffer, listeners.

Events are rendered to JSON once and shared by every listener. Each listener
has a queue bounded in messages and in bytes: one that cannot keep up is never
disconnected for it (the original React frontend would not reconnect); its
backlog is dropped and replaced by one ``playlist.updated`` of the playlist as it
is when the listener gets to it, so it misses nothing and sees nothing twice.
The resume buffer is bounded in bytes too: each event carries whole items.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from crdt.diff import Change, approx_bytes

Render = Callable[[Change, int], dict[str, Any]]

RESUME_BUFFER = 1000
RESUME_BUFFER_BYTES = 8 << 20
LISTENER_QUEUE = 1000
LISTENER_QUEUE_BYTES = 4 << 20


class Message:
    """One event: ``text`` is the JSON sent to WebSocket and SSE listeners.

    Rendered on first use and then shared: a change nobody listens to is never rendered.
    """

    __slots__ = ("_change", "_render", "_size", "_text", "seq", "type")

    def __init__(self, seq: int, change: Change, render: Render) -> None:
        self.seq, self.type = seq, change.type
        self._change, self._render = change, render
        self._text: str | None = None
        self._size: int | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = json.dumps(self._render(self._change, self.seq))
            if self._size is None:  # once counted, a size stays what was counted
                self._size = len(self._text)
        return self._text

    @property
    def size(self) -> int:
        """Bytes it takes: exact once rendered, else an upper estimate."""
        if self._size is None:
            self._size = approx_bytes(self._change)
        return self._size


class ListenerClosed(Exception):
    """The server is shutting down: close the connection normally (1000)."""


class Listener:
    """One event-stream connection's queue of messages.

    ``snapshot`` renders the whole playlist now (a ``playlist.updated`` at the current
    seq); a listener that overflowed gets one instead of what it could not hold.
    """

    def __init__(
        self,
        snapshot: Callable[[], Message] | None = None,
        maxsize: int = LISTENER_QUEUE,
        maxbytes: int = LISTENER_QUEUE_BYTES,
    ) -> None:
        self.queue: deque[Message] = deque()
        self.bytes = 0
        self._maxsize, self._maxbytes = maxsize, maxbytes
        self._snapshot = snapshot
        self.behind = False  # the backlog was dropped: a snapshot is due
        self.overflows = 0
        self._ready = asyncio.Event()
        self.closed = False

    def close(self) -> None:
        """End this listener (shutdown): ``next`` raises :class:`ListenerClosed` once what is
        queued has been taken."""
        self.closed = True
        self._ready.set()

    async def next(self, timeout: float) -> Message | None:
        """The next message, or None after ``timeout`` seconds without one (a heartbeat is
        due). After an overflow the next message is the snapshot."""
        if not self.queue and not self.behind:
            if self.closed:
                raise ListenerClosed
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return None
            if not self.queue and not self.behind:  # woken by close()
                raise ListenerClosed
        if self.behind:
            self.behind = False
            assert self._snapshot is not None
            return self._snapshot()
        message = self.queue.popleft()
        self.bytes -= message.size
        return message

    def offer(self, message: Message) -> None:
        if self.closed:
            return
        if self.behind:
            return  # the snapshot, rendered when it is sent, will include this change
        self.queue.append(message)
        self.bytes += message.size
        if self._snapshot is not None and (
            len(self.queue) > self._maxsize or self.bytes > self._maxbytes
        ):
            self.queue.clear()
            self.bytes = 0
            self.behind = True
            self.overflows += 1
        self._ready.set()


class EventLog:
    def __init__(
        self,
        render: Render,
        seq: int = 0,
        capacity: int = RESUME_BUFFER,
        capacity_bytes: int = RESUME_BUFFER_BYTES,
    ) -> None:
        self._render = render
        self.seq = seq
        self._buffer: deque[Message] = deque()
        self._capacity, self._capacity_bytes = capacity, capacity_bytes
        self.buffer_bytes = 0
        self.listeners: set[Listener] = set()

    def publish(self, changes: list[Change]) -> None:
        for change in changes:
            self.seq += 1
            message = self.render(change)
            if self.listeners:
                message.text  # noqa: B018 (rendered now for everyone: the exact size counts)
            self._remember(message)
            for listener in self.listeners:
                listener.offer(message)

    def _remember(self, message: Message) -> None:
        self._buffer.append(message)
        self.buffer_bytes += message.size
        while self._buffer and (
            len(self._buffer) > self._capacity or self.buffer_bytes > self._capacity_bytes
        ):
            self.buffer_bytes -= self._buffer.popleft().size

    def missed_since(self, since: int) -> list[Message] | None:
        """Messages after ``since``, or None when the buffer does not reach back that far."""
        if since == self.seq:
            return []
        if since > self.seq or not self._buffer or self._buffer[0].seq > since + 1:
            return None
        return [message for message in self._buffer if message.seq > since]

    def render(self, change: Change) -> Message:
        """A change stamped with the current seq (a resume snapshot reuses it)."""
        return Message(self.seq, change, self._render)
