"""The legacy event stream of one playlist: seqs, a resume buffer, listeners.

Events are rendered to JSON once and shared by every listener. Each listener
has a bounded queue: one that cannot keep up is dropped (its connection
closes, it can resume with ``?since=``) rather than stalling the room.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from crdt.diff import Change

Render = Callable[[Change, int], dict[str, Any]]

RESUME_BUFFER = 1000
LISTENER_QUEUE = 1000


class Listener:
    """One event-stream connection's queue of JSON messages."""

    def __init__(self, maxsize: int = LISTENER_QUEUE) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize)
        self.overflowed = asyncio.Event()

    def offer(self, message: str) -> None:
        if self.overflowed.is_set():
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed.set()


class EventLog:
    def __init__(self, render: Render, seq: int = 0, capacity: int = RESUME_BUFFER) -> None:
        self._render = render
        self.seq = seq
        self._buffer: deque[tuple[int, str]] = deque(maxlen=capacity)
        self.listeners: set[Listener] = set()

    def publish(self, changes: list[Change]) -> None:
        for change in changes:
            self.seq += 1
            message = json.dumps(self._render(change, self.seq))
            self._buffer.append((self.seq, message))
            for listener in self.listeners:
                listener.offer(message)

    def missed_since(self, since: int) -> list[str] | None:
        """Messages after ``since``, or None when the buffer no longer reaches back that far."""
        if since >= self.seq:
            return [] if since == self.seq else None
        if not self._buffer or self._buffer[0][0] > since + 1:
            return None
        return [message for seq, message in self._buffer if seq > since]

    def render(self, change: Change) -> str:
        """A message outside the sequence (a resume snapshot), stamped with the current seq."""
        return json.dumps(self._render(change, self.seq))
