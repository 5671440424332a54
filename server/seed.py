"""Seeding: the track library, and a demo playlist for ``make run`` (CONTRACT §1).

Idempotent: tracks already stored are left alone, and the demo playlist is
only written when the ``default`` playlist has never been stored.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from pycrdt import Doc

from crdt import operations as ops
from crdt.schema import iso_utc, utc_now_iso

from .engine.library import seed_tracks
from .engine.storage import Storage

DEMO_PLAYLIST = "default"
DEMO_SIZE = 10
DEMO_NAMES = ("Alice", "Bob", "Charlie", "Dana", "Anonymous")
SEED_VOTE_KEY = "seed"


@dataclass(frozen=True)
class SeedResult:
    tracks_added: int
    demo_playlist: bool


def demo_document(track_ids: list[int], rng: random.Random) -> Doc:
    """10 library tracks at positions 1..10, votes -2..10, mixed ``added_by``, the first playing."""
    doc = Doc()
    start = datetime.now(UTC) - timedelta(hours=1)
    chosen = rng.sample(track_ids, min(DEMO_SIZE, len(track_ids)))
    with doc.transaction():
        for index, track_id in enumerate(chosen):
            item_id = str(uuid4())
            ops.add_item(
                doc,
                item_id=item_id,
                track_id=track_id,
                added_by=rng.choice(DEMO_NAMES),
                added_at=iso_utc(start + timedelta(minutes=index)),
                position=float(index + 1),
            )
            ops.vote(doc, item_id, SEED_VOTE_KEY, rng.randint(-2, 10))
            if index == 0:
                ops.play(doc, item_id, utc_now_iso())
    return doc


async def seed(storage: Storage, *, tracks_only: bool = False, rng: random.Random | None = None):
    await storage.create_schema()
    added = await storage.insert_missing_tracks(seed_tracks())
    if tracks_only:
        return SeedResult(added, False)
    if (await storage.load(DEMO_PLAYLIST)).exists:
        return SeedResult(added, False)
    track_ids = [track.id for track in await storage.load_tracks()]
    doc = demo_document(track_ids, rng or random.Random())
    await storage.append(DEMO_PLAYLIST, doc.get_update(), seq=0)
    return SeedResult(added, True)


async def is_empty(storage: Storage) -> bool:
    await storage.create_schema()
    return not await storage.load_tracks() and not await storage.list_playlists()
