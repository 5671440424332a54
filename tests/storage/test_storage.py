"""SQL storage of playlist documents: a snapshot plus an append-only log (CONTRACT §6).

Every test runs against a real SQLite file through ``server.engine.storage.Storage``.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pycrdt import Doc

from crdt import operations as ops
from crdt.projection import Playlist, project
from server.engine.library import seed_tracks
from server.engine.storage import Storage, StorageError, StoredDocument
from server.seed import DEMO_PLAYLIST, DEMO_SIZE, seed


def url_of(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "playsync.db"


@pytest.fixture
async def storage(db_path: Path) -> AsyncIterator[Storage]:
    store = Storage(url_of(db_path))
    await store.create_schema()
    yield store
    await store.close()


def document_of(stored: StoredDocument) -> Doc:
    doc = Doc()
    for part in ([stored.snapshot] if stored.snapshot else []) + stored.updates:
        doc.apply_update(part)
    return doc


class Recorder:
    """A document that hands back each transaction's update, the way a room captures them."""

    def __init__(self) -> None:
        self.doc = Doc()
        self.updates: list[bytes] = []
        self._sub = self.doc.observe(lambda event: self.updates.append(event.update))

    def add(self, item_id: str, track_id: int, position: float) -> bytes:
        ops.add_item(
            self.doc,
            item_id=item_id,
            track_id=track_id,
            added_by="Alice",
            added_at="2024-01-01T00:00:00.000Z",
            position=position,
        )
        return self.updates[-1]

    def vote(self, item_id: str, delta: int) -> bytes:
        ops.vote(self.doc, item_id, "server:test", delta)
        return self.updates[-1]


def same_document(one: bytes | None, other: bytes) -> bool:
    """Two updates hold the same document (a folded snapshot need not be byte-equal)."""
    assert one is not None
    first, second = Doc(), Doc()
    first.apply_update(one)
    second.apply_update(other)
    return first.get_state() == second.get_state() and project(first) == project(second)


def log_rows(db_path: Path, name: str) -> list[int]:
    with sqlite3.connect(db_path) as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT version FROM playlist_updates WHERE name = ? ORDER BY version", (name,)
            )
        ]


async def test_creating_the_schema_twice_keeps_what_is_stored(db_path, storage):
    update = Recorder().add("a", 1, 1.0)
    await storage.append("p", update, seq=1)
    await storage.insert_missing_tracks(seed_tracks())

    await storage.create_schema()
    again = Storage(url_of(db_path))
    try:
        await again.create_schema()
        assert (await again.load("p")).updates == [update]
        assert len(await again.load_tracks()) == 35
    finally:
        await again.close()


async def test_an_unknown_playlist_loads_as_an_empty_document(storage):
    stored = await storage.load("never-written")
    assert not stored.exists
    assert stored.snapshot is None
    assert stored.updates == []
    assert stored.version == 0
    assert stored.seq == 0


async def test_appended_updates_load_back_in_the_order_they_were_appended(storage):
    recorder = Recorder()
    sent = [
        recorder.add("a", 1, 1.0),
        recorder.add("b", 2, 2.0),
        recorder.vote("a", 1),
        recorder.vote("a", 1),
        recorder.vote("b", -1),
    ]
    ids = [await storage.append("p", update, seq=n) for n, update in enumerate(sent, 1)]

    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    stored = await storage.load("p")
    assert stored.snapshot is None
    assert stored.updates == sent
    assert stored.version == ids[-1]
    assert project(document_of(stored)) == project(recorder.doc)
    assert [item.votes for item in project(document_of(stored)).items] == [2, -1]


async def test_playlists_do_not_see_each_others_updates(storage):
    first, second = Recorder(), Recorder()
    await storage.append("one", first.add("a", 1, 1.0), seq=1)
    await storage.append("two", second.add("b", 2, 1.0), seq=1)
    await storage.append("one", first.vote("a", 3), seq=2)

    assert project(document_of(await storage.load("one"))) == project(first.doc)
    assert project(document_of(await storage.load("two"))) == project(second.doc)


async def test_compaction_replaces_the_snapshot_and_trims_the_log_it_folds_in(db_path, storage):
    recorder = Recorder()
    ids = [
        await storage.append("p", recorder.add("a", 1, 1.0), seq=1),
        await storage.append("p", recorder.add("b", 2, 2.0), seq=2),
        await storage.append("p", recorder.vote("a", 1), seq=3),
    ]
    # The live document holds everything stored so far: its full state is the snapshot.
    snapshot = recorder.doc.get_update()
    await storage.compact("p", ids[-1])
    assert log_rows(db_path, "p") == []

    newer = [recorder.vote("b", 1), recorder.add("c", 3, 3.0)]
    newer_ids = [await storage.append("p", update, seq=4) for update in newer]

    stored = await storage.load("p")
    assert same_document(stored.snapshot, snapshot)
    assert stored.updates == newer
    assert stored.version == newer_ids[-1]
    assert log_rows(db_path, "p") == newer_ids
    assert project(document_of(stored)) == project(recorder.doc)

    # A second compaction replaces the first snapshot rather than adding one.
    await storage.compact("p", newer_ids[-1])
    stored = await storage.load("p")
    assert stored.updates == []
    assert stored.version == newer_ids[-1]
    assert project(document_of(stored)) == project(recorder.doc)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM playlist_snapshots").fetchone() == (1,)


async def test_updates_appended_after_a_compaction_emptied_the_log_are_not_taken_as_folded(
    db_path, storage
):
    # Regression: SQLite reused log ids once compaction had deleted every row, so the
    # next updates got ids <= the snapshot's ``through_update_id`` and load skipped them.
    recorder = Recorder()
    ids = [await storage.append("p", recorder.add(f"i{n}", n, float(n)), seq=n) for n in (1, 2)]
    await storage.compact("p", ids[-1])
    later = [recorder.vote("i1", 1), recorder.vote("i2", -1)]
    later_ids = [await storage.append("p", update, seq=3) for update in later]
    assert min(later_ids) > ids[-1]
    await storage.close()

    reopened = Storage(url_of(db_path))
    try:
        stored = await reopened.load("p")
        assert stored.updates == later
        assert [item.votes for item in project(document_of(stored)).items] == [1, -1]
    finally:
        await reopened.close()


async def test_a_compaction_through_an_older_update_keeps_the_updates_after_it(db_path, storage):
    recorder = Recorder()
    first = await storage.append("p", recorder.add("a", 1, 1.0), seq=1)
    snapshot = recorder.doc.get_update()  # the state as of ``first``
    later = recorder.vote("a", 5)
    second = await storage.append("p", later, seq=2)

    # The persister snapshots before a newer append lands: the log keeps that newer update.
    await storage.compact("p", first)

    stored = await storage.load("p")
    assert same_document(stored.snapshot, snapshot)
    assert stored.updates == [later]
    assert stored.version == second
    assert log_rows(db_path, "p") == [second]
    assert project(document_of(stored)).items[0].votes == 5


async def test_a_compaction_that_fails_halfway_leaves_snapshot_and_log_untouched(db_path, storage):
    recorder = Recorder()
    await storage.append("p", recorder.add("a", 1, 1.0), seq=1)
    through = await storage.append("p", recorder.vote("a", 1), seq=2)
    old_snapshot = recorder.doc.get_update()
    await storage.compact("p", through)
    tail = [recorder.vote("a", 1), recorder.add("b", 2, 2.0)]
    tail_ids = [await storage.append("p", update, seq=3) for update in tail]
    before = await storage.load("p")

    # The database refuses the last step (trimming the log), after the snapshot was swapped.
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "CREATE TRIGGER refuse_trim BEFORE DELETE ON playlist_updates "
            "BEGIN SELECT RAISE(ABORT, 'trim refused'); END"
        )
    with pytest.raises(StorageError):
        await storage.compact("p", tail_ids[-1])

    after = await storage.load("p")
    assert after.snapshot == before.snapshot
    assert same_document(after.snapshot, old_snapshot)
    assert after.updates == before.updates == tail
    assert after.version == before.version
    assert project(document_of(after)) == project(recorder.doc)


async def test_the_event_seq_is_stored_with_each_append_and_survives_reopening(db_path, storage):
    recorder = Recorder()
    await storage.append("p", recorder.add("a", 1, 1.0), seq=7)
    assert (await storage.load("p")).seq == 7
    await storage.append("p", recorder.vote("a", 1), seq=12)
    await storage.compact("p", log_rows(db_path, "p")[-1])
    await storage.close()

    reopened = Storage(url_of(db_path))
    try:
        assert (await reopened.load("p")).seq == 12
        assert (await reopened.load("other")).seq == 0
    finally:
        await reopened.close()


async def test_list_playlists_names_every_stored_playlist_in_name_order(storage):
    assert await storage.list_playlists() == []
    recorder = Recorder()
    await storage.append("zeta", recorder.add("a", 1, 1.0), seq=1)
    await storage.append("alpha", recorder.vote("a", 1), seq=1)
    await storage.append("zeta", recorder.vote("a", 1), seq=2)

    rows = await storage.list_playlists()
    assert [row.name for row in rows] == ["alpha", "zeta"]
    for row in rows:
        assert row.created_at.tzinfo is not None
        assert row.updated_at >= row.created_at


async def test_inserting_the_library_twice_stores_each_track_once(db_path, storage):
    library = seed_tracks()
    assert len(library) == 35
    assert await storage.insert_missing_tracks(library) == 35
    assert await storage.insert_missing_tracks(library) == 0
    extra = {**library[0], "id": 1000, "title": "Extra"}
    assert await storage.insert_missing_tracks([*library, extra]) == 1

    tracks = await storage.load_tracks()
    assert [t.id for t in tracks] == sorted(t["id"] for t in [*library, extra])
    assert all(t.created_at.tzinfo is not None for t in tracks)
    by_id = {t.id: t for t in tracks}
    for track in library:
        assert by_id[track["id"]].title == track["title"]
        assert by_id[track["id"]].duration_seconds == track["duration_seconds"]


def check_demo_playlist(playlist: Playlist, track_ids: set[int]) -> None:
    items = playlist.items
    assert len(items) == DEMO_SIZE == 10
    assert [item.position for item in items] == [float(n) for n in range(1, 11)]
    assert all(-2 <= item.votes <= 10 for item in items)
    assert [item.is_playing for item in items].count(True) == 1
    assert playlist.playing is not None
    assert playlist.playing.played_at
    assert len({item.added_by for item in items}) > 1
    assert len({item.track_id for item in items}) == 10
    assert {item.track_id for item in items} <= track_ids
    assert len({item.id for item in items}) == 10


async def test_seeding_twice_stores_the_library_and_one_demo_playlist_once(db_path, storage):
    first = await seed(storage, rng=random.Random(4))
    assert (first.tracks_added, first.demo_playlist) == (35, True)
    stored = await storage.load(DEMO_PLAYLIST)
    playlist = project(document_of(stored))

    second = await seed(storage, rng=random.Random(5))
    assert (second.tracks_added, second.demo_playlist) == (0, False)

    track_ids = {track.id for track in await storage.load_tracks()}
    assert len(track_ids) == 35
    assert [row.name for row in await storage.list_playlists()] == [DEMO_PLAYLIST]
    again = await storage.load(DEMO_PLAYLIST)
    assert again.snapshot == stored.snapshot
    assert again.updates == stored.updates
    assert len(log_rows(db_path, DEMO_PLAYLIST)) == 1
    assert project(document_of(again)) == playlist
    check_demo_playlist(playlist, track_ids)


@pytest.mark.parametrize("rng_seed", range(5))
async def test_every_demo_playlist_fits_the_contract(storage, rng_seed):
    await seed(storage, rng=random.Random(rng_seed))
    track_ids = {track.id for track in await storage.load_tracks()}
    check_demo_playlist(project(document_of(await storage.load(DEMO_PLAYLIST))), track_ids)


async def test_seeding_tracks_only_leaves_the_playlists_alone(storage):
    result = await seed(storage, tracks_only=True)
    assert (result.tracks_added, result.demo_playlist) == (35, False)
    assert await storage.list_playlists() == []
    assert not (await storage.load(DEMO_PLAYLIST)).exists
