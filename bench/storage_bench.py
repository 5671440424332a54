"""Storage: a playlist after many votes and moves, against its bare snapshot.

In-process, on a temp SQLite file through :class:`server.engine.storage.Storage` (WAL,
``synchronous=FULL``, as the server configures it):

1. A playlist of 200 items takes ``edits`` votes and moves (about 2:1, 50 writers).
   Each edit is one transaction of schema v1 (:mod:`crdt.operations`); its update is
   handed to the server's own :class:`server.engine.persistence.Persister` (merge per commit,
   compaction policy of the default settings), ``edits_per_commit`` at a time, as
   concurrent REST writes are group-committed. So the database holds exactly what the
   server would store. When a move finds no float left between its neighbours, the
   server's repair (respread) runs, as the room would run it. The room's projection and
   event rendering are skipped here to keep 100k edits fast; their cost per change is
   measured separately (4).
2. Stored bytes (snapshot + log rows) against ``len(doc.get_update())`` of the same
   final document: its bare snapshot.
3. A cold load as the server does it on first use (connected engine, ``Storage.load``,
   ``Room.load``: merge, apply, project, repair check) against applying the bare
   snapshot to an empty ``Doc``, alternated, median of ``repeat``. The loaded playlist
   must equal the final one. Measured after ``edits`` edits, and again after editing on
   until the log holds one row less than the compaction threshold: the most log rows a
   playlist carries (the worst point of the compaction cycle).
4. CPU per change: ``Room.transact`` of a vote (relay, queue for storage, re-project,
   diff, render the event, repair check) against the same vote on a bare ``Doc``.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from pycrdt import Doc

from api.serializers import event_json
from crdt import operations as ops
from crdt.projection import project
from crdt.repairs import repair
from crdt.schema import items_map, utc_now_iso
from server.engine.library import Library
from server.engine.origins import REST
from server.engine.persistence import CompactionPolicy, Persister
from server.engine.room import Room
from server.engine.rooms import RoomSettings, standard_extensions
from server.engine.storage import Storage, StoredDocument, TrackRow
from server.settings import Settings

from .common import log, synthetic_tracks

NAME = "bench-storage"
ITEMS = 200


def _library() -> Library:
    now = datetime.now(UTC)
    return Library(TrackRow(**t, created_at=now) for t in synthetic_tracks(ITEMS))


def _room(store, library: Library, settings: Settings, name: str = NAME) -> Room:
    return Room(name, render=lambda change, seq: event_json(change, seq, library))


def _extensions(store, settings: Settings) -> list:
    room_settings = RoomSettings(
        batch_delay=settings.batch_delay,
        compaction=CompactionPolicy(settings.compact_updates, settings.compact_bytes),
    )
    return standard_extensions(store, room_settings)


def _add_items(doc: Doc, library: Library) -> list[str]:
    ids = []
    for index, track in enumerate(library.all()):
        item_id = str(uuid4())
        ops.add_item(
            doc,
            item_id=item_id,
            track_id=track.id,
            added_by="bench",
            added_at=utc_now_iso(),
            position=float(index + 1),
        )
        ids.append(item_id)
    return ids


class History:
    """A playlist document taking random edits, stored through the server's own persister."""

    def __init__(self, storage: Storage, settings: Settings, library: Library) -> None:
        self.doc = Doc()
        self._captured: list[bytes] = []
        self.doc.observe(lambda event: self._captured.append(event.update))
        self.persister = Persister(
            NAME,
            storage,
            seq=lambda: 0,
            batch_delay=settings.batch_delay,
            policy=CompactionPolicy(settings.compact_updates, settings.compact_bytes),
        )
        self.persister.start()
        self.rng = random.Random(20261101)
        self.writers = [f"server:{uuid4()}" for _ in range(5)]
        self.writers += [str(self.rng.getrandbits(32)) for _ in range(45)]
        ids = _add_items(self.doc, library)
        self.positions = {item_id: float(i + 1) for i, item_id in enumerate(ids)}
        self.counts = {"vote": 0, "move": 0, "respread": 0}
        self.seconds = 0.0

    async def commit(self) -> None:
        for update in self._captured:
            self.persister.add(update)
        self._captured.clear()
        await self.persister.flush()

    def edit(self) -> None:
        rng, ids = self.rng, list(self.positions)
        if rng.random() < 0.66:
            ops.vote(self.doc, rng.choice(ids), rng.choice(self.writers), rng.choice((1, 1, -1)))
            self.counts["vote"] += 1
            return
        # A drag and drop: the item lands between two neighbours of the current order.
        order = sorted(self.positions.values())
        index = rng.randrange(1, len(order))
        before, after = order[index - 1], order[index]
        item_id = rng.choice(ids)
        position = (before + after) / 2
        ops.move_item(self.doc, item_id, position)
        self.counts["move"] += 1
        if not before < position < after:
            # Floats ran out between neighbours: the server respreads after such a change.
            repair(self.doc, utc_now_iso())
            items = items_map(self.doc)
            self.positions = {i: items[i]["position"] for i in self.positions}
            self.counts["respread"] += 1
        else:
            self.positions[item_id] = position

    async def run(self, edits: int, per_commit: int) -> None:
        started = time.perf_counter()
        done = 0
        while done < edits:
            for _ in range(min(per_commit, edits - done)):
                self.edit()
                done += 1
            await self.commit()
        self.seconds += time.perf_counter() - started

    async def run_until_log_rows(self, rows: int, per_commit: int) -> int:
        """Commit batches until the log holds ``rows`` rows since the last compaction.

        Bounded: a compaction by size on the way would reset the count, so at most
        ``2 * rows`` commits.
        """
        edits = 0
        for _ in range(2 * rows):
            if self.persister.log_updates >= rows:
                break
            for _ in range(per_commit):
                self.edit()
            edits += per_commit
            await self.commit()
        return edits


async def _cold_load(url: str, library: Library, settings: Settings):
    """One load as the server does it on first use: read, build the room (warm engine)."""
    storage = Storage(url)
    try:
        await storage.ping()  # the server's engine is connected long before a room loads
        started = time.perf_counter()
        stored = await storage.load(NAME)
        read = time.perf_counter()
        room = _room(storage, library, settings)
        room.load(stored, _extensions(storage, settings))
        finished = time.perf_counter()
        playlist = room.playlist
        await room.close()
    finally:
        await storage.close()
    detail = {
        "read_seconds": read - started,
        "build_seconds": finished - read,
        "log_rows": len(stored.updates),
        "snapshot_bytes": len(stored.snapshot or b""),
    }
    return finished - started, detail, playlist


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


class NullStore:
    """A store that keeps nothing: what is timed is the room's own work, not storage's."""

    async def load(self, name: str) -> StoredDocument:
        return StoredDocument()

    async def append(self, name: str, data: bytes, seq: int) -> int:
        return 1

    async def compact(self, name: str, snapshot: bytes, through_update_id: int) -> None:
        return None


async def _change_cost(library: Library, settings: Settings, changes: int) -> dict:
    """CPU per vote: through a room of 200 items, and on a bare document (alternating blocks)."""
    store = NullStore()
    room = _room(store, library, settings, "bench-change-cost")
    room.load(StoredDocument(), _extensions(store, settings))
    room_ids = []
    for track in library.all():
        item_id = str(uuid4())
        room.transact(
            REST,
            ops.add_item,
            item_id=item_id,
            track_id=track.id,
            added_by="b",
            added_at=utc_now_iso(),
        )
        room_ids.append(item_id)
    bare = Doc()
    bare.observe(lambda event: None)
    bare_ids = _add_items(bare, library)
    rng = random.Random(7)
    room_time = bare_time = 0.0
    block = max(1, changes // 10)
    for _ in range(10):
        room_time += _timed(
            lambda: [
                room.transact(REST, ops.vote, rng.choice(room_ids), "server:b", 1)
                for _ in range(block)
            ]
        )
        bare_time += _timed(
            lambda: [ops.vote(bare, rng.choice(bare_ids), "server:b", 1) for _ in range(block)]
        )
    assert room.persister is not None
    room.persister._task.cancel()  # nothing to store: a null store
    n = block * 10
    return {
        "changes": n,
        "room_us": room_time / n * 1e6,
        "bare_us": bare_time / n * 1e6,
        "ratio": room_time / bare_time,
    }


async def _measure(url: str, doc: Doc, library: Library, settings: Settings, repeat: int):
    """Stored bytes and cold loads against the bare snapshot of the same document."""
    storage = Storage(url)
    try:
        stored_bytes = await storage.stored_bytes(NAME)
    finally:
        await storage.close()
    final = doc.get_update()
    final_projection = project(doc)
    load_samples, bare_samples, bare_project_samples = [], [], []
    details: list[dict] = []
    identical = True
    for _ in range(repeat):
        seconds, detail, loaded = await _cold_load(url, library, settings)
        identical = identical and loaded == final_projection
        load_samples.append(seconds)
        details.append(detail)
        bare_samples.append(_timed(lambda: Doc().apply_update(final)))

        def bare_and_project() -> None:
            fresh = Doc()
            fresh.apply_update(final)
            project(fresh)

        bare_project_samples.append(_timed(bare_and_project))
    load = statistics.median(load_samples)
    bare = statistics.median(bare_samples)
    return {
        "stored_bytes": stored_bytes,
        "bare_snapshot_bytes": len(final),
        "bytes_ratio": stored_bytes / len(final),
        "load_seconds": load,
        "load_samples": load_samples,
        "load_breakdown": {
            "read_seconds": statistics.median(d["read_seconds"] for d in details),
            "build_seconds": statistics.median(d["build_seconds"] for d in details),
            "log_rows": details[-1]["log_rows"],
            "snapshot_bytes": details[-1]["snapshot_bytes"],
        },
        "bare_apply_seconds": bare,
        "bare_apply_samples": bare_samples,
        "bare_apply_and_project_seconds": statistics.median(bare_project_samples),
        "load_ratio": load / bare,
        "loaded_equals_final": identical,
    }


async def run_storage(workdir: Path, *, edits: int, per_commit: int, repeat: int = 7) -> dict:
    database = workdir / "storage.db"
    url = f"sqlite+aiosqlite:///{database}"
    settings = Settings()
    library = _library()
    storage = Storage(url)
    await storage.create_schema()
    log(f"storage: {edits} edits, {per_commit} per commit")
    history = History(storage, settings, library)
    await history.commit()
    await history.run(edits, per_commit)
    at_target = await _measure(url, history.doc, library, settings, repeat)
    compactions = history.persister.compactions
    counts, seconds = dict(history.counts), history.seconds
    # The same playlist just before its next compaction: the most log rows it ever has.
    rows = settings.compact_updates - 1
    log(f"storage: on to {rows} log rows, the last point before the next compaction")
    extra = await history.run_until_log_rows(rows, per_commit)
    worst = await _measure(url, history.doc, library, settings, repeat)
    worst["extra_edits"] = extra
    worst["log_rows"] = history.persister.log_updates
    await history.persister.close()
    await storage.close()
    log("storage: CPU per change, room against bare document")
    change_cost = await _change_cost(library, settings, 2000 if edits >= 50_000 else 1000)
    return {
        "items": ITEMS,
        "edits": edits,
        "edits_per_commit": per_commit,
        "commits": -(-edits // per_commit),
        "history": {"seconds": seconds, "compactions": compactions, **counts},
        "policy": {"max_updates": settings.compact_updates, "max_bytes": settings.compact_bytes},
        **at_target,
        "before_next_compaction": worst,
        "database_file_bytes": database.stat().st_size,
        "change_cost": change_cost,
    }


def storage_section(workdir: Path, *, edits: int, per_commit: int) -> dict:
    return asyncio.run(run_storage(workdir, edits=edits, per_commit=per_commit))
