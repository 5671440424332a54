"""From two projections to the legacy event stream's changes (CONTRACT §3).

Events are derived from the document, never from the request that caused the
change, so a Yjs peer's vote and a REST vote produce the same ``track.voted``.
A change that touches many items at once (an offline replica merging, a
respread), or a change of the order mode, becomes one ``playlist.updated``
with every item instead of a burst: the original React frontend refetches on
that type and knows no other bulk event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .projection import Item, Playlist

TRACK_ADDED = "track.added"
TRACK_REMOVED = "track.removed"
TRACK_MOVED = "track.moved"
TRACK_VOTED = "track.voted"
TRACK_PLAYING = "track.playing"
PLAYLIST_UPDATED = "playlist.updated"

BURST_ITEMS = 3
"""More items touched than this by one change: send a snapshot instead."""


@dataclass(frozen=True, slots=True)
class Change:
    """One event before rendering: ``item`` for full-item payloads, else ``item_id``.

    ``track.playing`` with ``item=None`` means playback of ``item_id`` stopped;
    ``playlist.updated`` carries ``items``.
    """

    type: str
    item_id: str | None = None
    item: Item | None = None
    items: tuple[Item, ...] = ()


def diff(
    before: Playlist, after: Playlist, candidates: Iterable[str] | None = None
) -> list[Change]:
    """The events that turn ``before`` into ``after``.

    ``candidates``: the only item ids that can differ (besides who is playing), when the
    caller knows them (see :func:`crdt.projection.touched_item_ids`); None compares all.
    """
    ids = before.index.keys() | after.index.keys() if candidates is None else set(candidates)
    changes: list[Change] = []
    touched: set[str] = set()

    for item_id in sorted(ids & before.index.keys() - after.index.keys(), key=before.index.get):
        changes.append(Change(TRACK_REMOVED, item_id=item_id))
        touched.add(item_id)
    for item_id in sorted(ids & after.index.keys(), key=after.index.__getitem__):
        item = after.items[after.index[item_id]]
        previous = before.get(item_id)
        if previous is None:
            changes.append(Change(TRACK_ADDED, item_id=item.id, item=item))
            touched.add(item.id)
            continue
        if item.position != previous.position:
            changes.append(Change(TRACK_MOVED, item_id=item.id, item=item))
            touched.add(item.id)
        if item.votes != previous.votes:
            changes.append(Change(TRACK_VOTED, item_id=item.id, item=item))
            touched.add(item.id)

    changes += _playback_changes(before, after)

    if len(touched) > BURST_ITEMS or before.auto_sort != after.auto_sort:
        return [snapshot(after)]
    return sorted(changes, key=_event_order)


def _playback_changes(before: Playlist, after: Playlist) -> list[Change]:
    was, now = before.playing, after.playing
    if now is not None and (was is None or was.id != now.id or was.played_at != now.played_at):
        return [Change(TRACK_PLAYING, item_id=now.id, item=now)]
    if now is None and was is not None:
        return [Change(TRACK_PLAYING, item_id=was.id)]
    return []


_ORDER = {
    TRACK_REMOVED: 0,
    TRACK_ADDED: 1,
    TRACK_MOVED: 2,
    TRACK_VOTED: 3,
    TRACK_PLAYING: 4,
}


def _event_order(change: Change) -> int:
    return _ORDER.get(change.type, 9)


def snapshot(playlist: Playlist) -> Change:
    """The whole playlist as one ``playlist.updated`` (new listener, resume too old,
    a listener that fell behind, a burst)."""
    return Change(PLAYLIST_UPDATED, items=playlist.items)


ITEM_OVERHEAD = 1200
"""JSON bytes of an item besides its own strings: field names, numbers, a library track."""


def approx_bytes(change: Change) -> int:
    """An upper estimate of a change's rendered JSON size, without rendering it.

    Bounds the resume buffer in bytes too: one event carries whole items, and a
    peer's item can hold long strings. Non-ASCII text counts six bytes a character
    (``\\uXXXX``, as ``json.dumps`` writes it).
    """
    items = change.items if change.item is None else (change.item,)
    return 64 + len(change.item_id or "") + sum(_item_bytes(item) for item in items)


def _item_bytes(item: Item) -> int:
    size = ITEM_OVERHEAD + _text_bytes(item.id) + _text_bytes(item.added_by)
    size += _text_bytes(item.added_at) + _text_bytes(item.played_at or "")
    return size + (_json_bytes(item.track) if item.track else 0)


def _text_bytes(text: str) -> int:
    return len(text) if text.isascii() else 6 * len(text)


def _json_bytes(value: object, depth: int = 0) -> int:
    if depth > 32:  # the gate refuses deeper values; never recurse without end
        return 0
    if isinstance(value, str):
        return _text_bytes(value) + 2
    if isinstance(value, dict):
        return 2 + sum(
            _text_bytes(str(k)) + 4 + _json_bytes(v, depth + 1) for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        return 2 + sum(_json_bytes(v, depth + 1) + 1 for v in value)
    return 24
