"""JSON shapes of the legacy API: tracks, playlist items, events."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from crdt import diff as d
from crdt.diff import Change
from crdt.projection import Item
from crdt.schema import iso_utc
from server.engine.library import Library
from server.engine.storage import TrackRow


def iso(dt: datetime) -> str:
    """A stored timestamp (full precision, as the seed's DRF serializers give it)."""
    return iso_utc(dt, timespec="auto")


def duration_formatted(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


@cache  # a TrackRow never changes (an edit makes a new one); callers must not mutate the result
def track_json(track: TrackRow) -> dict[str, Any]:
    return {
        "id": track.id,
        "title": track.title,
        "artist": track.artist,
        "album": track.album,
        "duration_seconds": track.duration_seconds,
        "duration_formatted": duration_formatted(track.duration_seconds),
        "genre": track.genre,
        "cover_url": track.cover_url,
        "created_at": iso(track.created_at),
    }


TRACK_COPY_FIELDS = ("title", "artist", "album", "duration_seconds", "genre", "cover_url")
"""What an item carries of its track in the document, for Yjs clients to show (CONTRACT §5)."""


def track_copy(track: TrackRow) -> dict[str, Any]:
    full = track_json(track)
    return {name: full[name] for name in TRACK_COPY_FIELDS}


def _unknown_track(item: Item) -> dict[str, Any]:
    """A track missing from the library (a peer added it): show what the peer sent."""
    peer = item.track or {}
    seconds = peer.get("duration_seconds")
    seconds = int(seconds) if isinstance(seconds, int | float) and seconds >= 0 else 0
    return {
        "id": item.track_id,
        "title": str(peer.get("title", "")),
        "artist": str(peer.get("artist", "")),
        "album": str(peer.get("album", "")),
        "duration_seconds": seconds,
        "duration_formatted": duration_formatted(seconds),
        "genre": str(peer.get("genre", "")),
        "cover_url": peer.get("cover_url") if isinstance(peer.get("cover_url"), str) else None,
        "created_at": None,
    }


def item_json(item: Item, library: Library) -> dict[str, Any]:
    track = library.get(item.track_id)
    return {
        "id": item.id,
        "track": track_json(track) if track else _unknown_track(item),
        "track_id": item.track_id,
        "position": item.position,
        "votes": item.votes,
        "added_by": item.added_by,
        "added_at": item.added_at,
        "is_playing": item.is_playing,
        "played_at": item.played_at,
    }


def event_json(change: Change, seq: int, library: Library) -> dict[str, Any]:
    if change.type == d.PLAYLIST_UPDATED:
        payload: dict[str, Any] = {"items": [item_json(i, library) for i in change.items]}
    elif change.type == d.TRACK_REMOVED:
        payload = {"id": change.item_id}
    elif change.type == d.TRACK_PLAYING and change.item is None:
        payload = {"id": change.item_id, "is_playing": False}
    else:
        assert change.item is not None
        payload = item_json(change.item, library)
    return {"type": change.type, "payload": payload, "seq": seq}
