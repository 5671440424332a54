"""The writes of schema v1, each one transaction on the document.

These are the only functions that mutate a playlist document on the server.
They check what only the document can answer (does the item exist?) and leave
input validation to the caller. Each opens ``doc.transaction()``, which joins
the caller's transaction when there is one, so a caller can group several
writes into one update.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Map

from . import schema as s
from .projection import as_finite, project, vote_total


class ItemNotFound(LookupError):
    """The item id names no item of the document."""

    def __init__(self, item_id: str) -> None:
        super().__init__(item_id)
        self.item_id = item_id


def _item(doc: Doc, item_id: str) -> Map:
    value = s.items_map(doc).get(item_id)
    if not isinstance(value, Map):
        raise ItemNotFound(item_id)
    return value


def add_item(
    doc: Doc,
    *,
    item_id: str,
    track_id: int,
    added_by: str,
    added_at: str,
    position: float | None = None,
    track: dict[str, Any] | None = None,
    played_at: str | None = None,
) -> None:
    """Add an item; without ``position`` it is appended (last + 1, or 1.0)."""
    with doc.transaction():
        if position is None:
            position = project(doc).next_position()
        fields: dict[str, Any] = {
            s.TRACK_ID: track_id,
            s.POSITION: float(position),
            s.ADDED_BY: added_by,
            s.ADDED_AT: added_at,
            s.PLAYED_AT: played_at,
            s.VOTES: Map(),
        }
        if track is not None:
            fields[s.TRACK] = track
        s.items_map(doc)[item_id] = Map(fields)


def move_item(doc: Doc, item_id: str, position: float) -> None:
    with doc.transaction():
        _item(doc, item_id)[s.POSITION] = float(position)


def remove_item(doc: Doc, item_id: str) -> None:
    """Delete an item; playback stops if it was the playing one."""
    with doc.transaction():
        _item(doc, item_id)
        del s.items_map(doc)[item_id]
        if s.playback_map(doc).get(s.NOW_PLAYING) == item_id:
            stop(doc)


def vote(doc: Doc, item_id: str, writer_key: str, delta: int) -> None:
    """Add ``delta`` to this writer's own key of the item's PN-counter."""
    with doc.transaction():
        item = _item(doc, item_id)
        votes = item.get(s.VOTES)
        if not isinstance(votes, Map):
            votes = item[s.VOTES] = Map()
        current = as_finite(votes.get(writer_key)) or 0.0
        votes[writer_key] = current + delta


def play(doc: Doc, item_id: str, now: str) -> None:
    """Make this item the one playing (last writer wins) and stamp ``played_at``."""
    with doc.transaction():
        item = _item(doc, item_id)
        item[s.PLAYED_AT] = now
        playback = s.playback_map(doc)
        playback[s.NOW_PLAYING] = item_id
        playback[s.STARTED_AT] = now


def stop(doc: Doc) -> None:
    with doc.transaction():
        playback = s.playback_map(doc)
        if playback.get(s.NOW_PLAYING) is not None:
            playback[s.NOW_PLAYING] = None
            playback[s.STARTED_AT] = None


def reset_votes(doc: Doc, item_id: str, writer_key: str) -> None:
    """Bring an item's vote total to zero by writing only this writer's own key (a
    PN-counter entry belongs to its writer); votes cast concurrently still count."""
    with doc.transaction():
        item = _item(doc, item_id)
        votes = item.get(s.VOTES)
        if not isinstance(votes, Map):
            votes = item[s.VOTES] = Map()
        total = vote_total(votes)
        if total:
            own = as_finite(votes.get(writer_key)) or 0.0
            votes[writer_key] = own - total


def clear(doc: Doc) -> None:
    """Remove every item and stop playback."""
    with doc.transaction():
        items = s.items_map(doc)
        for item_id in list(items.keys()):
            del items[item_id]
        stop(doc)


def set_auto_sort(doc: Doc, enabled: bool) -> None:
    """Order the playlist by votes (highest first) or by position alone."""
    with doc.transaction():
        settings = s.settings_map(doc)
        if settings.get(s.AUTO_SORT_BY_VOTES) is not enabled:
            settings[s.AUTO_SORT_BY_VOTES] = enabled


def ensure_settings(doc: Doc, auto_sort_default: bool) -> None:
    """Write the server's default order mode into a playlist that has none yet, so
    every client (Yjs ones too) reads the same mode from the document."""
    with doc.transaction():
        settings = s.settings_map(doc)
        if not isinstance(settings.get(s.AUTO_SORT_BY_VOTES), bool):
            settings[s.AUTO_SORT_BY_VOTES] = auto_sort_default


def is_playing(doc: Doc, item_id: str) -> bool:
    return s.playback_map(doc).get(s.NOW_PLAYING) == item_id
