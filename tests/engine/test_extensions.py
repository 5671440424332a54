"""The extension seam: every room change reaches each extension's hooks, in order."""

from __future__ import annotations

from typing import Any

import pytest

from crdt import operations as ops
from server.engine.extensions import RoomExtension
from server.engine.memory_store import MemoryStore
from server.engine.origins import REST, PeerOrigin
from server.engine.room import Room
from server.engine.rooms import RoomManager

from .conftest import render


class Recorder(RoomExtension):
    def __init__(self, name: str, calls: list[tuple[str, str]]) -> None:
        self.name, self.calls = name, calls

    def on_load(self, room: Room, stored: Any) -> None:
        self.calls.append((self.name, "load"))

    def on_update(self, room: Room, updates: list[bytes], origin: Any) -> None:
        self.calls.append((self.name, f"update:{type(origin).__name__}"))

    def on_events(self, room: Room, changes: list[Any]) -> None:
        self.calls.append((self.name, "events:" + ",".join(c.type for c in changes)))

    async def on_unload(self, room: Room) -> bool:
        self.calls.append((self.name, "unload"))
        return True


class Broken(RoomExtension):
    def on_update(self, room: Room, updates: list[bytes], origin: Any) -> None:
        raise RuntimeError("a bug in one consumer")


class Refuses(RoomExtension):
    def check_update(self, room: Room, update: bytes, origin: Any) -> None:
        if isinstance(origin, PeerOrigin):
            raise PermissionError("peers may not write here")


def _add(room: Room, item_id: str = "a", track_id: int = 1) -> None:
    room.transact(
        REST, ops.add_item, item_id=item_id, track_id=track_id, added_by="t", added_at="t"
    )


async def test_hooks_run_in_the_order_the_extensions_were_given(store: MemoryStore):
    calls: list[tuple[str, str]] = []
    factories = [lambda room: Recorder("first", calls), lambda room: Recorder("second", calls)]
    async with RoomManager(store, render, extensions=factories) as rooms:
        room = await rooms.get("p")
        _add(room)
    assert calls == [
        ("first", "load"),
        ("second", "load"),
        ("first", "update:RestOrigin"),
        ("second", "update:RestOrigin"),
        ("first", "events:track.added"),
        ("second", "events:track.added"),
        ("first", "unload"),
        ("second", "unload"),
    ]


async def test_a_failing_extension_does_not_stop_storage_or_the_others(store: MemoryStore):
    calls: list[tuple[str, str]] = []
    factories = [lambda room: Broken(), lambda room: Recorder("after", calls)]
    async with RoomManager(store, render, extensions=factories) as rooms:
        room = await rooms.get("p")
        _add(room)
        await room.persisted()
    assert ("after", "update:RestOrigin") in calls
    assert store.appends == 1


async def test_a_refused_update_changes_nothing_and_reaches_nobody(store: MemoryStore):
    calls: list[tuple[str, str]] = []
    factories = [lambda room: Refuses(), lambda room: Recorder("seen", calls)]
    async with RoomManager(store, render, extensions=factories) as rooms:
        room = await rooms.get("p")
        other = Room("elsewhere", render=render)
        _add(other)
        update = other.doc.get_update()
        with pytest.raises(PermissionError):
            room.apply_update(update, PeerOrigin(7))
        assert room.playlist.items == ()
        assert not any(call[1].startswith("update") for call in calls)
        await room.persisted()
    assert store.appends == 0
