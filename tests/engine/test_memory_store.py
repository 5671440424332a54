"""Rooms on the in-memory store: persistence and compaction without a database."""

from __future__ import annotations

from crdt import operations as ops
from server.engine.memory_store import MemoryStore
from server.engine.origins import REST
from server.engine.persistence import CompactionPolicy
from server.engine.rooms import RoomManager, RoomSettings

from .conftest import render


async def test_persists_and_reloads(store: MemoryStore):
    async with RoomManager(store, render) as rooms:
        room = await rooms.get("p")
        room.transact(REST, ops.add_item, item_id="a", track_id=1, added_by="t", added_at="t")
        room.transact(REST, ops.vote, "a", "server:x", 3)
        await room.persisted()
    async with RoomManager(store, render) as rooms:
        room = await rooms.get("p")
        assert [(i.id, i.votes) for i in room.playlist.items] == [("a", 3)]


async def test_only_flushes_when_dirty(store: MemoryStore):
    async with RoomManager(store, render) as rooms:
        room = await rooms.get("p")
        await room.persisted()
        assert store.appends == 0
        room.transact(REST, ops.add_item, item_id="a", track_id=1, added_by="t", added_at="t")
        await room.persisted()
        await room.persisted()
        assert store.appends == 1


async def test_compaction_keeps_the_document_and_bounds_the_log(store: MemoryStore):
    settings = RoomSettings(compaction=CompactionPolicy(max_updates=10))
    async with RoomManager(store, render, settings=settings) as rooms:
        room = await rooms.get("p")
        room.transact(REST, ops.add_item, item_id="a", track_id=1, added_by="t", added_at="t")
        for _ in range(35):
            room.transact(REST, ops.vote, "a", "server:x", 1)
            await room.persisted()
        assert store.compactions >= 3
    loaded = await store.load("p")
    assert len(loaded.updates) < 10
    async with RoomManager(store, render) as rooms:
        assert (await rooms.get("p")).playlist.items[0].votes == 35
