"""Memory: RSS of the server per loaded idle playlist of 200 items.

K playlists of 200 items are stored (as the server stores them: one update per
playlist), then ``playsync serve`` loads each with one ``GET`` and holds it, idle.
RSS growth over K is the cost of one loaded playlist, read once right after the GETs
(awake) and again once the rooms went dormant (``--dormant-seconds``, 5 s by default:
they keep only their projection and encoded document); the bare snapshot size is given
for scale. The per-peer figure and the side-by-side with the reference server come from
the fan-out section (RSS after N peers joined; idle rooms written by peers).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from uuid import uuid4

import httpx
from pycrdt import Doc

from crdt import operations as ops
from crdt.schema import utc_now_iso
from server.engine.storage import Storage
from server.settings import Settings

from .common import HOST, add_library_tracks, log, playsync_service, rss_bytes, settle

ITEMS = 200
DORMANT_WAIT = 1.5 * Settings.model_fields["dormant_seconds"].default + 1.0
"""Past the default delay, and the reaper's pass after it (every quarter of the delay)."""


def _document(track_ids: list[int]) -> bytes:
    doc = Doc()
    for index, track_id in enumerate(track_ids[:ITEMS]):
        ops.add_item(
            doc,
            item_id=str(uuid4()),
            track_id=track_id,
            added_by="bench",
            added_at=utc_now_iso(),
            position=float(index + 1),
        )
    return doc.get_update()


async def _store(database: Path, names: list[str], update: bytes) -> None:
    storage = Storage(f"sqlite+aiosqlite:///{database}")
    try:
        for name in names:
            await storage.append(name, update, seq=0)
    finally:
        await storage.close()


def memory_section(workdir: Path, *, playlists: int) -> dict:
    database = workdir / "memory.db"
    track_ids = add_library_tracks(database, ITEMS)
    update = _document(track_ids)
    names = [f"mem-{i}" for i in range(playlists)]
    asyncio.run(_store(database, ["mem-warm", *names], update))
    service = playsync_service(workdir, "playsync-memory", database)
    service.start()
    try:
        with httpx.Client(base_url=f"http://{HOST}:{service.port}", timeout=30) as client:
            # Warm every code path once (going dormant too), so the growth below is the
            # playlists alone.
            assert len(client.get("/api/playlists/mem-warm/").json()) == ITEMS
            time.sleep(DORMANT_WAIT)
            settle(service.pid)
            before = rss_bytes(service.pid)
            log(f"memory: loading {playlists} idle playlists of {ITEMS} items")
            for name in names:
                response = client.get(f"/api/playlists/{name}/")
                assert len(response.json()) == ITEMS, name
            settle(service.pid)
            awake = rss_bytes(service.pid)
            log(f"memory: waiting {DORMANT_WAIT:.1f} s for them to go dormant")
            time.sleep(DORMANT_WAIT)
            settle(service.pid)
            after = rss_bytes(service.pid)
    finally:
        service.stop()
    per_playlist = (after - before) / playlists if before and after else None
    return {
        "playlists": playlists,
        "items": ITEMS,
        "rss_before": before,
        "rss_awake": awake,
        "rss_after": after,
        "per_playlist_awake_bytes": (awake - before) / playlists if before and awake else None,
        "per_playlist_bytes": per_playlist,
        "bare_snapshot_bytes": len(update),
        "per_playlist_over_snapshot": per_playlist / len(update) if per_playlist else None,
    }
