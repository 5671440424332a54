"""In-process engine fixtures: rooms on the in-memory store, peers that record what they get."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from crdt.diff import Change
from server.engine.memory_store import MemoryStore
from server.engine.rooms import RoomManager, RoomSettings


def render(change: Change, seq: int) -> dict[str, Any]:
    return {"type": change.type, "seq": seq}


@dataclass
class FakePeer:
    """A connected Yjs client as the room sees one: it only records what it is sent."""

    connection_id: int
    sent: list[bytes] = field(default_factory=list)

    def send(self, message: bytes) -> None:
        self.sent.append(message)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def rooms(store: MemoryStore) -> AsyncIterator[RoomManager]:
    async with RoomManager(store, render, settings=RoomSettings(batch_delay=0.01)) as manager:
        yield manager
