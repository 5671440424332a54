"""Rooms and their persistence, in process: RoomManager and Room on a real SQLite file.

No HTTP here: writes go through ``Room.transact`` the way the REST handlers make them,
and every room persists through a real ``Storage``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from pycrdt import Doc
from sqlalchemy import event

from crdt import operations as ops
from crdt.diff import Change
from crdt.projection import project
from crdt.schema import utc_now_iso
from server.engine.origins import REMOTE, REST, PeerOrigin
from server.engine.persistence import CompactionPolicy
from server.engine.room import Room
from server.engine.rooms import RoomManager, RoomSettings
from server.engine.storage import Storage, StorageError

WRITER = "server:test"
WAIT = 10.0  # upper bound for anything the tests wait on; normally a fraction of a second


def render(change: Change, seq: int) -> dict[str, Any]:
    return {"type": change.type, "seq": seq}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "rooms.db"


@contextlib.asynccontextmanager
async def opened(db_path: Path) -> AsyncIterator[Storage]:
    storage = Storage(f"sqlite+aiosqlite:///{db_path}")
    await storage.create_schema()
    try:
        yield storage
    finally:
        await storage.close()


@contextlib.asynccontextmanager
async def running(db_path: Path, **settings: Any) -> AsyncIterator[RoomManager]:
    """A fresh Storage and RoomManager on the file, like one server process's lifetime."""
    async with (
        opened(db_path) as storage,
        RoomManager(storage, render, settings=RoomSettings(**settings)) as rooms,
    ):
        yield rooms


class StatementLog:
    """Counts the SQL statements a Storage sends to its database."""

    def __init__(self, storage: Storage) -> None:
        self.statements: list[str] = []
        event.listen(storage.engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement: str, *_args: Any) -> None:
        self.statements.append(" ".join(statement.split()))

    @property
    def appends(self) -> int:
        return sum(s.startswith("INSERT INTO playlist_updates") for s in self.statements)

    @property
    def loads(self) -> int:
        return sum(
            s.startswith("SELECT") and "FROM playlist_snapshots" in s for s in self.statements
        )


async def eventually(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    """Poll until ``condition()`` holds; fail after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def add(room: Room, track_id: int, position: float | None = None) -> str:
    item_id = str(uuid4())
    room.transact(
        REST,
        ops.add_item,
        item_id=item_id,
        track_id=track_id,
        added_by="Alice",
        added_at=utc_now_iso(),
        position=position,
    )
    return item_id


def vote(room: Room, item_id: str, delta: int = 1) -> None:
    room.transact(REST, ops.vote, item_id, WRITER, delta)


async def fill(room: Room) -> None:
    """A playlist touched by every kind of write, each one awaited like a REST call."""
    ids = [add(room, track_id) for track_id in (3, 1, 4, 5, 9)]
    await room.persisted()
    room.transact(REST, ops.move_item, ids[4], 0.5)
    vote(room, ids[0], 2)
    vote(room, ids[1], -1)
    room.transact(REST, ops.play, ids[2], utc_now_iso())
    room.transact(REST, ops.play, ids[1], utc_now_iso())
    room.transact(REST, ops.remove_item, ids[3])
    await room.persisted()


def log_rows(db_path: Path, name: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT count(*) FROM playlist_updates WHERE name = ?", (name,)
        ).fetchone()[0]


async def test_a_room_persists_and_reloads_its_playlist_and_event_seq(db_path):
    async with running(db_path) as rooms:
        room = await rooms.get("p")
        await fill(room)
        playlist, state, seq = room.playlist, room.doc.get_state(), room.events.seq
        assert [item.track_id for item in playlist.items] == [9, 3, 1, 4]
        assert playlist.playing is not None
        assert sum(item.played_at is not None for item in playlist.items) == 2

    async with running(db_path) as rooms:
        again = await rooms.get("p")
        assert again is not room
        assert again.playlist == playlist
        assert project(again.doc) == playlist
        assert again.doc.get_state() == state
        assert again.events.seq == seq > 0


async def test_the_persister_writes_only_when_the_room_has_unstored_changes(db_path):
    async with opened(db_path) as storage:
        sql = StatementLog(storage)
        async with RoomManager(storage, render, settings=RoomSettings(batch_delay=0.05)) as rooms:
            room = await rooms.get("p")
            assert room.persister is not None
            assert not room.persister.dirty
            await room.persisted()
            room.transact(REST, lambda doc: project(doc))  # reads only: no update
            await room.persisted()
            assert sql.appends == 0

            item_id = add(room, 1)
            assert room.persister.dirty
            await room.persisted()
            assert not room.persister.dirty
            assert sql.appends == 1
            await room.persisted()
            assert sql.appends == 1

            # What another server already stored arrives over the bus: applied, not stored.
            other = Doc()
            other.apply_update(room.doc.get_update())
            ops.vote(other, item_id, "server:other", 5)
            room.apply_update(other.get_update(room.doc.get_state()), REMOTE)
            assert room.playlist.get(item_id).votes == 5
            assert not room.persister.dirty
            await room.persisted()
            assert sql.appends == 1

            # A Yjs peer's update is stored by itself, without anyone waiting on it.
            ops.vote(other, item_id, "peer:1", 1)
            room.apply_update(other.get_update(room.doc.get_state()), PeerOrigin(1))
            assert room.persister.dirty
            await eventually(lambda: not room.persister.dirty)
            assert sql.appends == 2
        # Unloading a room with nothing left to store writes nothing more.
        assert sql.appends == 2
        assert log_rows(db_path, "p") == 2


async def test_concurrent_gets_of_one_playlist_share_one_room_and_one_load(db_path):
    async with running(db_path) as rooms:
        await fill(await rooms.get("p"))

    async with opened(db_path) as storage:
        sql = StatementLog(storage)
        async with RoomManager(storage, render) as rooms:
            got = await asyncio.gather(*(rooms.get(name) for name in ["p"] * 50 + ["q"] * 50))
            assert len({id(room) for room in got[:50]}) == 1
            assert len({id(room) for room in got[50:]}) == 1
            assert got[0] is not got[50]
            assert sql.loads == 2
            assert set(rooms.rooms) == {"p", "q"}
            assert [item.track_id for item in got[0].playlist.items] == [9, 3, 1, 4]
            assert await rooms.get("p") is got[0]
            assert sql.loads == 2


async def test_an_idle_room_is_unloaded_and_reloads_identically(db_path):
    async with running(db_path, idle_seconds=0.2) as rooms:
        room = await rooms.get("p")
        await fill(room)
        playlist, state, seq = room.playlist, room.doc.get_state(), room.events.seq

        await eventually(lambda: "p" not in rooms.rooms)

        again = await rooms.get("p")
        assert again is not room
        assert again.playlist == playlist
        assert again.doc.get_state() == state
        assert again.events.seq == seq


class FakePeer:
    """A connected Yjs client as the room sees it: it only ever receives."""

    connection_id = 1

    def send(self, message: bytes) -> None:
        pass


@pytest.mark.parametrize("hold", ["listener", "request in flight", "yjs peer"])
async def test_a_room_in_use_is_not_unloaded_while_idle_rooms_are(db_path, hold):
    async with running(db_path, idle_seconds=0.2) as rooms, contextlib.AsyncExitStack() as stack:
        held = await rooms.get("held")
        vote_target = add(held, 1)
        await held.persisted()
        if hold == "listener":
            listener = held.listen()
            stack.callback(held.unlisten, listener)
        elif hold == "request in flight":
            await stack.enter_async_context(rooms.use("held"))
        else:
            peer = FakePeer()
            held.add_peer(peer)
            stack.callback(held.remove_peer, peer)
        # Loaded after ``held`` was last active, and checked after it by the same sweeps:
        # once this one is unloaded, ``held`` has been idle long enough too.
        sentinel = await rooms.get("sentinel")

        await eventually(lambda: "sentinel" not in rooms.rooms)
        assert rooms.rooms.get("held") is held
        assert sentinel not in rooms.rooms.values()

        await stack.aclose()
        await eventually(lambda: "held" not in rooms.rooms)
        assert (await rooms.get("held")).playlist.get(vote_target) is not None


@pytest.mark.parametrize(
    "policy",
    [CompactionPolicy(max_updates=5, max_bytes=1 << 20), CompactionPolicy(10**6, max_bytes=400)],
    ids=["by update count", "by log bytes"],
)
async def test_compaction_starts_once_the_log_passes_its_bound_and_loses_nothing(db_path, policy):
    async with running(db_path, compaction=policy) as rooms:
        room = await rooms.get("p")
        ids = []
        for track_id in range(1, 13):
            ids.append(add(room, track_id))
            await room.persisted()
        for n in range(12):
            vote(room, ids[n % 3], 1 if n % 4 else -1)
            await room.persisted()
        persister = room.persister
        assert persister is not None
        await eventually(lambda: not persister.dirty)
        assert persister.compactions >= 2
        assert persister.log_updates < policy.max_updates
        assert persister.log_bytes < policy.max_bytes
        playlist, state = room.playlist, room.doc.get_state()
        full = room.doc.get_update()

    assert log_rows(db_path, "p") == persister.log_updates
    async with opened(db_path) as storage:
        stored = await storage.load("p")
        assert stored.snapshot is not None
        assert len(stored.updates) == persister.log_updates
        assert await storage.stored_bytes("p") <= len(full) + policy.max_bytes

    async with running(db_path, compaction=policy) as rooms:
        again = await rooms.get("p")
        assert again.playlist == playlist
        assert [item.votes for item in again.playlist.items[:3]] == [2, 2, 2]
        assert again.doc.get_state() == state


async def test_a_storage_failure_fails_the_write_keeps_the_change_and_stores_it_later(db_path):
    async with running(db_path, idle_seconds=0.2) as rooms:
        room = await rooms.get("p")
        item_id = add(room, 7)
        await room.persisted()
        assert room.persister is not None

        with sqlite3.connect(db_path) as conn:
            conn.execute(
                "CREATE TRIGGER refuse_appends BEFORE INSERT ON playlist_updates "
                "BEGIN SELECT RAISE(ABORT, 'database refuses writes'); END"
            )
        vote(room, item_id, 3)
        with pytest.raises(StorageError):
            await room.persisted()
        assert room.playlist.get(item_id).votes == 3
        assert room.persister.dirty
        assert not room.idle

        # Meanwhile an idle room is unloaded, but not the one holding unstored changes.
        await rooms.get("sentinel")
        await eventually(lambda: "sentinel" not in rooms.rooms)
        assert rooms.rooms.get("p") is room
        assert log_rows(db_path, "p") == 1

        with sqlite3.connect(db_path) as conn:
            conn.execute("DROP TRIGGER refuse_appends")
        # The persister retries by itself: no new write is needed to get it stored.
        await eventually(lambda: not room.persister.dirty)
        await room.persisted()
        assert log_rows(db_path, "p") == 2
        playlist = room.playlist

    async with running(db_path) as rooms:
        again = await rooms.get("p")
        assert again.playlist == playlist
        assert again.playlist.get(item_id).votes == 3
