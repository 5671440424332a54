"""Two "processes" (RoomManagers, each with its own Storage) on one database file, in process.

No bus between them: whatever one stores, the other gets from the database catch-up
(CONTRACT §7). Compactions on either never drop what the other stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import event

from crdt import operations as ops
from crdt.projection import project
from server.engine.bus import LocalBus
from server.engine.catchup import StoredVersions
from server.engine.origins import REST
from server.engine.persistence import CompactionPolicy
from server.engine.room import Room, utc_now_iso
from server.engine.rooms import RoomManager, RoomSettings
from server.engine.storage import Storage

WAIT = 10.0


def render(change: Any, seq: int) -> dict[str, Any]:
    return {"type": change.type, "seq": seq}


@contextlib.asynccontextmanager
async def process(db_path: Path, bus: LocalBus | None = None, **settings: Any):
    storage = Storage(f"sqlite+aiosqlite:///{db_path}")
    await storage.create_schema()
    settings.setdefault("catch_up_seconds", 0.05)
    try:
        async with RoomManager(
            storage, render, bus=bus, settings=RoomSettings(**settings)
        ) as rooms:
            yield rooms
    finally:
        await storage.close()


async def eventually(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def add(room: Room, track_id: int) -> str:
    item_id = str(uuid4())
    room.transact(
        REST,
        ops.add_item,
        item_id=item_id,
        track_id=track_id,
        added_by="test",
        added_at=utc_now_iso(),
    )
    return item_id


def test_versions_of_others_apply_in_order_and_own_ones_are_skipped():
    versions = StoredVersions(through=3)
    assert versions.offer(5, b"five") == []  # waits for 4
    versions.own(6)
    assert versions.offer(4, b"four") == [b"four", b"five"]
    assert versions.through == 6
    assert versions.offer(6, b"six") == []  # ours, already in the document
    assert versions.offer(2, b"old") == []
    versions.reloaded(10)
    assert versions.through == 10
    assert versions.offer(11, b"eleven") == [b"eleven"]


def test_a_version_that_waited_for_our_own_commit_is_applied_after_it():
    """Another process's next version can come over the bus before our own append is
    recorded (it was committed after ours): recording ours hands it over, never drops it."""
    versions = StoredVersions(through=9)
    assert versions.offer(11, b"eleven") == []  # waits for 10, ours
    assert versions.own(10) == [b"eleven"]
    assert versions.through == 11
    assert versions.offer(12, b"twelve") == [b"twelve"]


def test_versions_that_waited_past_a_reload_are_applied_after_it():
    versions = StoredVersions(through=2)
    assert versions.offer(6, b"six") == []
    assert versions.offer(7, b"seven") == []
    assert versions.reloaded(5) == [b"six", b"seven"]
    assert versions.through == 7


async def test_the_issue_reproduction_keeps_every_write(tmp_path: Path):
    """B loads; A adds; B takes 300 votes and compacts; after a restart A's item is there."""
    db = tmp_path / "shared.db"
    policy = CompactionPolicy(max_updates=25)
    async with process(db, compaction=policy) as a, process(db, compaction=policy) as b:
        room_b = await b.get("p")
        voted = add(room_b, 1)
        await room_b.persisted()
        room_a = await a.get("p")
        added = add(room_a, 2)
        await room_a.persisted()
        for _ in range(300):
            room_b.transact(REST, ops.vote, voted, "server:b", 1)
            await room_b.persisted()
        assert room_b.persister is not None and room_b.persister.compactions >= 10
        await eventually(lambda: room_b.playlist.get(added) is not None)
        await eventually(lambda: room_a.playlist == room_b.playlist)
        assert room_a.playlist.get(voted).votes == 300
    async with process(db) as again:
        playlist = (await again.get("p")).playlist
    assert playlist.get(added) is not None
    assert playlist.get(voted).votes == 300


async def test_compactions_on_both_sides_while_both_write_lose_nothing(tmp_path: Path):
    db = tmp_path / "shared.db"
    policy = CompactionPolicy(max_updates=3)
    async with process(db, compaction=policy) as a, process(db, compaction=policy) as b:
        rooms = [await a.get("p"), await b.get("p")]

        async def write(room: Room, first_track: int) -> list[str]:
            ids = []
            for n in range(40):
                ids.append(add(room, first_track + n))
                await room.persisted()
            return ids

        first, second = await asyncio.gather(write(rooms[0], 1), write(rooms[1], 1001))
        ids = first + second
        await eventually(lambda: all(len(r.playlist.items) == 80 for r in rooms))
        # The respreads of tied positions each side repairs are still on their way when the
        # last item arrives: the same playlist once they are in, not at that instant.
        await eventually(lambda: rooms[0].playlist == rooms[1].playlist)
    async with process(db) as again:
        assert {item.id for item in (await again.get("p")).playlist.items} == set(ids)


async def test_a_room_behind_a_compaction_reloads_the_snapshot(tmp_path: Path):
    db = tmp_path / "shared.db"
    async with process(db, catch_up_seconds=3600) as a, process(db) as b:
        room_a, room_b = await a.get("p"), await b.get("p")
        ids = [add(room_b, n) for n in range(1, 6)]
        await room_b.persisted()
        assert room_b.persister is not None
        await room_b.persister.compact()  # A never saw these rows, and now they are gone
        await a.catch_up.run_once()
        assert a.catch_up.reloads == 1
        assert {item.id for item in room_a.playlist.items} == set(ids)
        assert project(room_a.doc) == project(room_b.doc)


async def test_the_catch_up_asks_once_per_tick_however_many_rooms(tmp_path: Path):
    db = tmp_path / "shared.db"
    async with process(db, catch_up_seconds=3600) as a:
        for n in range(20):
            await a.get(f"p{n}")
        statements: list[str] = []
        storage = a.catch_up._store
        assert isinstance(storage, Storage)
        event.listen(
            storage.engine.sync_engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_: statements.append(statement),
        )
        await a.catch_up.run_once()
        assert len(statements) == 1  # nothing changed: one query, no rows to fetch


async def test_the_bus_delivers_at_once_and_the_database_covers_what_it_loses(tmp_path: Path):
    db = tmp_path / "shared.db"
    bus = LocalBus()
    async with (
        process(db, bus=bus, catch_up_seconds=3600) as a,
        process(db, bus=bus, catch_up_seconds=3600) as b,
    ):
        room_a, room_b = await a.get("p"), await b.get("p")
        first = add(room_a, 1)
        await room_a.persisted()
        assert room_b.playlist.get(first) is not None  # over the bus, no catch-up ran

        replica = a._replicas["p"]
        member, replica._member = replica._member, None  # the next message is lost
        second = add(room_a, 2)
        await room_a.persisted()
        replica._member = member
        third = add(room_a, 3)  # arrives early over the bus: waits for the lost one
        await room_a.persisted()
        assert room_b.playlist.get(third) is None
        await b.catch_up.run_once()
        assert room_b.playlist.get(second) is not None
        assert room_b.playlist.get(third) is not None


async def test_seqs_of_two_processes_never_meet(tmp_path: Path):
    db = tmp_path / "shared.db"
    async with process(db) as a, process(db) as b:
        room_a, room_b = await a.get("p"), await b.get("p")
        add(room_a, 1)
        await room_a.persisted()
        await eventually(lambda: len(room_b.playlist.items) == 1)
        assert a.epoch != b.epoch
        assert room_a.events.seq >> 32 == a.epoch and room_b.events.seq >> 32 == b.epoch
        assert room_b.events.missed_since(room_a.events.seq) is None  # a snapshot
