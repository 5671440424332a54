"""The legacy event stream of one playlist: seqs, a resume buffer, listeners.

Events are rendered to JSON once and shared by every listener. Each listener
has a bounded queue: one that cannot keep up is dropped (its connection
closes, it can resume with ``?since=``) rather than stalling the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from crdt.diff import Change

Render = Callable[[Change, int], dict[str, Any]]

RESUME_BUFFER = 1000
LISTENER_QUEUE = 1000


class Message:
    """One event: ``text`` is the JSON sent to WebSocket and SSE listeners.

    Rendered on first use and then shared: a change nobody listens to is never rendered.
    """

    __slots__ = ("_change", "_render", "_text", "seq", "type")

    def __init__(self, seq: int, change: Change, render: Render) -> None:
        self.seq, self.type = seq, change.type
        self._change, self._render = change, render
        self._text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = json.dumps(self._render(self._change, self.seq))
        return self._text


class Overflowed(Exception):
    """The listener fell too far behind; it should reconnect with ``?since=``."""


class ListenerClosed(Exception):
    """The server is shutting down: close the connection normally (1000)."""


_CLOSE: Any = object()  # wakes a waiting ``next`` once the listener is closed


class Listener:
    """One event-stream connection's queue of messages."""

    def __init__(self, maxsize: int = LISTENER_QUEUE) -> None:
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize)
        self.overflowed = asyncio.Event()
        self.closed = False

    def close(self) -> None:
        """End this listener (shutdown): ``next`` raises :class:`ListenerClosed` once what is
        queued has been taken."""
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):  # a full queue has no waiter to wake
            self.queue.put_nowait(_CLOSE)

    async def next(self, timeout: float) -> Message | None:
        """The next message, or None after ``timeout`` seconds without one (a heartbeat is
        due). Raises :class:`Overflowed` once what was queued before an overflow is sent.

        An overflow only happens while the queue is full, so none can start during a wait.
        """
        if self.queue.empty():
            if self.closed:
                raise ListenerClosed
            if self.overflowed.is_set():
                raise Overflowed
        try:
            message = await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None
        if message is _CLOSE:
            raise ListenerClosed
        return message

    def offer(self, message: Message) -> None:
        if self.overflowed.is_set() or self.closed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed.set()


class EventLog:
    def __init__(self, render: Render, seq: int = 0, capacity: int = RESUME_BUFFER) -> None:
        self._render = render
        self.seq = seq
        self._buffer: deque[Message] = deque(maxlen=capacity)
        self.listeners: set[Listener] = set()

    def publish(self, changes: list[Change]) -> None:
        for change in changes:
            self.seq += 1
            message = self.render(change)
            self._buffer.append(message)
            for listener in self.listeners:
                listener.offer(message)

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
