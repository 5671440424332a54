"""The read model: what REST and the event stream see of a playlist document.

The projection never raises on a malformed document. A peer can write anything
into a Y.Doc, so an item that is not a Map, or lacks a numeric ``track_id`` or a
finite ``position``, is skipped; other odd fields fall back to defaults.

``project`` reads everything; ``reproject`` re-reads only the items a
transaction touched (see :func:`touched_item_ids`), because reading thousands
of nested maps per change is the hot path of a busy room.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from pycrdt import Doc, Map
from pycrdt._pycrdt import Map as NativeMap  # the Rust map under pycrdt's Map (see below)

from . import schema as s

HISTORY_LIMIT = 20
ITEM_FIELDS = (s.TRACK_ID, s.POSITION, s.ADDED_BY, s.ADDED_AT, s.PLAYED_AT, s.TRACK, s.VOTES)


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    track_id: int
    position: float
    votes: int
    added_by: str
    added_at: str
    played_at: str | None
    is_playing: bool
    track: dict[str, Any] | None = None

    @property
    def sort_key(self) -> tuple[float, str]:
        return (self.position, self.id)

    @property
    def vote_sort_key(self) -> tuple[int, float, str]:
        """The order with auto-sort on: votes (highest first), then position, then id."""
        return (-self.votes, self.position, self.id)


def order_key(auto_sort: bool) -> Callable[[Item], tuple]:
    return Item.vote_sort_key.fget if auto_sort else Item.sort_key.fget  # type: ignore[return-value]


@dataclass(frozen=True)
class Playlist:
    """Readable items in playlist order, plus the raw ``now_playing`` register.

    ``auto_sort``: the order mode in effect (the document's ``settings``, else
    ``auto_sort_default``, the server's default for playlists that have none).
    """

    items: tuple[Item, ...] = ()
    now_playing: str | None = None
    bad_now_playing: bool = False  # the register holds something not an id (repairs stop it)
    auto_sort: bool = False
    auto_sort_default: bool = False
    auto_sort_stored: bool = False  # the document holds the order mode (else: the default)

    @cached_property
    def index(self) -> dict[str, int]:
        """Item id -> place in ``items``."""
        return {item.id: place for place, item in enumerate(self.items)}

    def by_id(self) -> dict[str, Item]:
        return {item.id: item for item in self.items}

    def get(self, item_id: str) -> Item | None:
        place = self.index.get(item_id)
        return None if place is None else self.items[place]

    @property
    def playing(self) -> Item | None:
        """The playing item, if ``now_playing`` names a readable one."""
        return None if self.now_playing is None else self.get(self.now_playing)

    def history(self, limit: int = HISTORY_LIMIT) -> list[Item]:
        """Items that have been played, most recently played first."""
        played = [item for item in self.items if item.played_at]
        played.sort(key=lambda item: (item.played_at, item.id), reverse=True)
        return played[:limit]

    def next_position(self) -> float:
        """Where an append goes: last + 1, or 1.0 when empty (last by position, whatever
        the order mode)."""
        if not self.items:
            return 1.0
        last = max(item.position for item in self.items) if self.auto_sort else None
        return (self.items[-1].position if last is None else last) + 1.0


def as_int(value: Any) -> int | None:
    """An integer-valued number as ``int`` (pycrdt hands numbers back as floats)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value)


def as_finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        value = float(value)
    except OverflowError:  # a peer's BigInt beyond the float range
        return None
    return value if math.isfinite(value) else None


def vote_total(votes: Any) -> int:
    """Sum of a PN-counter map; non-numeric entries count as zero."""
    if not isinstance(votes, Map):
        return 0
    with votes.doc.transaction() as txn:
        return _native_vote_total(votes.integrated, txn._txn)


def _native_vote_total(votes: Any, txn: Any) -> int:
    """:func:`vote_total` of pycrdt's native map, read in one call.

    Through ``Map.values()`` each value is converted on its own; for an item voted on by 45
    clients that was most of the CPU of re-projecting it after a vote. The native map's
    ``to_json`` reads them all at once: numbers stay numbers (NaN and infinities become null),
    everything else becomes something that is not a number, so the total is the same.
    """
    total = 0.0
    for value in json.loads(votes.to_json(txn)).values():
        kind = type(value)  # not isinstance: True is an int, and counts as zero
        if kind is float:
            total += value
        elif kind is int:
            try:  # noqa: SIM105 (suppress() would cost a context manager per value)
                total += value
            except OverflowError:  # a peer's BigInt beyond the float range
                pass
    # Finite entries can still overflow to inf (a peer writing 1e308 twice): count as zero.
    return round(total) if math.isfinite(total) else 0


def read_now_playing(doc: Doc) -> str | None:
    value = s.playback_map(doc).get(s.NOW_PLAYING)
    return value if isinstance(value, str) else None


def _read_playback(doc: Doc) -> tuple[str | None, bool]:
    """``now_playing`` if it is an id, and whether it holds anything else instead."""
    value = s.playback_map(doc).get(s.NOW_PLAYING)
    if isinstance(value, str):
        return value, False
    return None, value is not None


def read_auto_sort(doc: Doc) -> bool | None:
    """The order mode the document holds (None: none, or not a boolean)."""
    value = s.settings_map(doc).get(s.AUTO_SORT_BY_VOTES)
    return value if isinstance(value, bool) else None


def read_item(item_id: str, value: Any, now_playing: str | None) -> Item | None:
    """One item of the ``items`` map, or None when it is unreadable."""
    if not isinstance(value, Map):
        return None
    with value.doc.transaction() as txn:
        return _read_native_item(item_id, value.integrated, txn._txn, now_playing)


def _read_native_item(item_id: str, value: Any, txn: Any, now_playing: str | None) -> Item | None:
    """:func:`read_item` of pycrdt's native map, inside the caller's transaction.

    pycrdt's ``Map.get`` opens three transactions, looks the key up twice and wraps what it
    finds; re-projecting an item reads seven fields, and that was a third of a vote's
    re-projection. Here: the keys once, then one native read per field present. A nested
    shared type stays a native object, which fails the ``str`` and ``dict`` checks below as
    pycrdt's wrapper did.
    """
    if type(value) is not NativeMap:
        return None
    keys = value.keys(txn)
    fields = {key: value.get(txn, key) for key in ITEM_FIELDS if key in keys}
    track_id = as_int(fields.get(s.TRACK_ID))
    position = as_finite(fields.get(s.POSITION))
    if track_id is None or position is None:
        return None
    added_by = fields.get(s.ADDED_BY)
    added_at = fields.get(s.ADDED_AT)
    played_at = fields.get(s.PLAYED_AT)
    track = fields.get(s.TRACK)
    votes = fields.get(s.VOTES)
    return Item(
        id=item_id,
        track_id=track_id,
        position=position,
        votes=_native_vote_total(votes, txn) if type(votes) is NativeMap else 0,
        added_by=added_by if isinstance(added_by, str) else s.DEFAULT_ADDED_BY,
        added_at=added_at if isinstance(added_at, str) else "",
        played_at=played_at if isinstance(played_at, str) and played_at else None,
        is_playing=item_id == now_playing,
        track=track if isinstance(track, dict) else None,
    )


def project(doc: Doc, auto_sort_default: bool = False) -> Playlist:
    """Read the whole document."""
    with doc.transaction() as txn:
        now_playing, bad = _read_playback(doc)
        stored = read_auto_sort(doc)
        auto_sort = auto_sort_default if stored is None else stored
        items = []
        native = s.items_map(doc).integrated
        for item_id in native.keys(txn._txn):
            item = _read_native_item(item_id, native.get(txn._txn, item_id), txn._txn, now_playing)
            if item is not None:
                items.append(item)
    items.sort(key=order_key(auto_sort))
    return Playlist(
        items=tuple(items),
        now_playing=now_playing,
        auto_sort=auto_sort,
        auto_sort_default=auto_sort_default,
        auto_sort_stored=stored is not None,
        bad_now_playing=bad,
    )


def reproject(doc: Doc, previous: Playlist, touched: Iterable[str] | None) -> Playlist:
    """``project(doc)``, re-reading only ``touched`` items (None: everything)."""
    default = previous.auto_sort_default
    if touched is None:
        return project(doc, default)
    stored = read_auto_sort(doc)
    if (stored is not None) != previous.auto_sort_stored or (
        default if stored is None else stored
    ) != previous.auto_sort:
        return project(doc, default)
    touched = set(touched)
    key = order_key(previous.auto_sort)
    with doc.transaction() as txn:
        now_playing, bad = _read_playback(doc)
        native = s.items_map(doc).integrated
        keys = set(native.keys(txn._txn)) if len(touched) > 1 else None
        fresh = {}
        for item_id in touched:
            if (item_id in keys) if keys is not None else native.has(txn._txn, item_id):
                value = native.get(txn._txn, item_id)
                item = _read_native_item(item_id, value, txn._txn, now_playing)
                if item is not None:
                    fresh[item_id] = item
    if now_playing == previous.now_playing and _same_places(previous, fresh, touched, key):
        # The common case (a vote, a rename): swap the items in place, no sort.
        items = list(previous.items)
        for item_id, item in fresh.items():
            items[previous.index[item_id]] = item
        playlist = replace(previous, items=tuple(items), bad_now_playing=bad)
        playlist.__dict__["index"] = previous.index  # same ids in the same places
        return playlist
    items = []
    for item in previous.items:
        if item.id in touched:
            continue
        if item.is_playing != (item.id == now_playing):
            item = replace(item, is_playing=not item.is_playing)
        items.append(item)
    items.extend(fresh.values())
    items.sort(key=key)
    return replace(previous, items=tuple(items), now_playing=now_playing, bad_now_playing=bad)


def _same_places(
    previous: Playlist, fresh: dict[str, Item], touched: set[str], key: Callable[[Item], tuple]
) -> bool:
    """Whether every touched item still exists and keeps its sort key."""
    if len(fresh) != len(touched):
        return False
    for item_id, item in fresh.items():
        place = previous.index.get(item_id)
        if place is None or key(previous.items[place]) != key(item):
            return False
    return True


def touched_item_ids(events: Iterable[Any]) -> set[str] | None:
    """Item ids changed by a transaction, from ``items.observe_deep`` events.

    Returns None when the events cannot be attributed to items (read everything).
    """
    touched: set[str] = set()
    for event in events:
        path = list(getattr(event, "path", None) or [])
        if path:
            if not isinstance(path[0], str):
                return None
            touched.add(path[0])
            continue
        keys = getattr(event, "keys", None)
        if keys is None:
            return None
        touched.update(str(key) for key in keys)
    return touched
