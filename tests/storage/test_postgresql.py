"""The same storage on PostgreSQL: only portable SQL, so the server runs on either.

Runs against the PostgreSQL of these machines (``PLAYSYNC_TEST_POSTGRES`` overrides the
server URL); fails, never skips, where none answers. Each test gets a database of its own
(``tests.conftest.postgres_database``).
"""

from __future__ import annotations

import pytest
from pycrdt import Doc

from crdt import operations as op
from crdt.projection import project
from server.engine.origins import REST
from server.engine.persistence import CompactionPolicy
from server.engine.rooms import RoomManager, RoomSettings
from server.engine.storage import Storage
from server.seed import seed
from tests.conftest import postgres_database


@pytest.fixture
def pg_url() -> str:
    return postgres_database()


def _render(change, seq):
    return {"type": change.type, "seq": seq}


async def test_seeding_postgresql_is_idempotent(pg_url: str):
    storage = Storage(pg_url)
    try:
        first = await seed(storage)
        again = await seed(storage)
        stored = await storage.load("default")
    finally:
        await storage.close()
    assert (first.tracks_added, first.demo_playlist) == (35, True)
    assert (again.tracks_added, again.demo_playlist) == (0, False)
    doc = Doc()
    for part in [stored.snapshot, *stored.updates]:
        if part:
            doc.apply_update(part)
    assert len(project(doc).items) == 10


async def test_a_room_on_postgresql_compacts_and_reloads_identically(pg_url: str):
    storage = Storage(pg_url)
    settings = RoomSettings(compaction=CompactionPolicy(max_updates=5))
    try:
        await storage.create_schema()
        async with RoomManager(storage, _render, settings=settings) as rooms:
            room = await rooms.get("pg")
            for n in range(1, 21):
                room.transact(
                    REST, op.add_item, item_id=f"i{n}", track_id=n, added_by="pg", added_at="t"
                )
                room.transact(REST, op.vote, f"i{n}", "server:pg", n)
                await room.persisted()
            written = project(room.doc)
            assert room.persister is not None and room.persister.compactions >= 3
        async with RoomManager(storage, _render) as rooms:
            reloaded = project((await rooms.get("pg")).doc)
        assert reloaded == written
        assert [row.name for row in await storage.list_playlists()] == ["pg"]
    finally:
        await storage.close()
