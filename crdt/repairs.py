"""What the server fixes after a merge, deterministically (CONTRACT §5).

Replicas that were offline can each add the same track, play an item another
replica deleted, or split the same gap between positions until floats run
out. Each repair below is a pure function of the merged document (plus the
clock, only for stamping ``played_at``), so two servers repairing the same
merge write the same values and never double-count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from pycrdt import Doc, Map

from . import schema as s
from .operations import stop
from .projection import Item, Playlist, project


@dataclass(frozen=True)
class Repair:
    kind: str  # "duplicate" | "dangling-play" | "bad-play" | "stamp-played" | "respread"
    item_id: str | None = None
    detail: str = ""


def needs_repair(playlist: Playlist) -> bool:
    """Cheap check on a projection: would :func:`repair` change anything?"""
    track_ids = [item.track_id for item in playlist.items]
    if len(set(track_ids)) != len(track_ids) or playlist.bad_now_playing:
        return True
    if playlist.now_playing is not None:
        playing = playlist.playing
        if playing is None or playing.played_at is None:
            return True
    return positions_exhausted(_positions(playlist))


def repair_unaffected(before: Playlist, after: Playlist, touched: Iterable[str]) -> bool:
    """Whether ``after`` needs a repair exactly when ``before`` did, without scanning it.

    True when the ``touched`` items (the only ones that changed) kept their track, position
    and ``played_at``, and playback is as it was: a vote, typically, which is most writes.
    """
    if (before.now_playing, before.bad_now_playing) != (after.now_playing, after.bad_now_playing):
        return False
    for item_id in touched:
        old, new = before.get(item_id), after.get(item_id)
        if old is None or new is None:
            return False
        if (old.track_id, old.position, old.played_at) != (
            new.track_id,
            new.position,
            new.played_at,
        ):
            return False
    return True


def _by_position(playlist: Playlist) -> list[Item]:
    """Items in position order, whatever the order mode (auto-sort orders by votes)."""
    if not playlist.auto_sort:
        return list(playlist.items)
    return sorted(playlist.items, key=Item.sort_key.fget)  # type: ignore[arg-type]


def _positions(playlist: Playlist) -> list[float]:
    return [item.position for item in _by_position(playlist)]


def repair(doc: Doc, now: str) -> list[Repair]:
    """Apply every repair the document needs, in one transaction; say what was done."""
    done: list[Repair] = []
    with doc.transaction():
        done += _merge_duplicate_tracks(doc, project(doc))
        done += _fix_playback(doc, project(doc), now)
        done += _respread_positions(doc, project(doc))
    return done


def _keeper_key(item: Item) -> tuple[str, str]:
    return (item.added_at, item.id)


def _merge_duplicate_tracks(doc: Doc, playlist: Playlist) -> list[Repair]:
    """Keep the earliest item of each track; carry the others' votes over to it."""
    by_track: dict[int, list[Item]] = defaultdict(list)
    for item in playlist.items:
        by_track[item.track_id].append(item)
    done = []
    items = s.items_map(doc)
    for group in by_track.values():
        if len(group) < 2:
            continue
        keep, *extras = sorted(group, key=_keeper_key)
        kept = items[keep.id]
        votes = kept.get(s.VOTES)
        if not isinstance(votes, Map):
            votes = kept[s.VOTES] = Map()
        for extra in extras:
            if extra.votes:
                # A float, like every vote value: pycrdt stores an int above 2**53 as a
                # BigInt (Yjs peers cannot add it to numbers) and panics above 2**63.
                votes[s.merged_vote_key(extra.id)] = float(extra.votes)
            if playlist.now_playing == extra.id:
                # The same track keeps playing, now under the surviving item.
                kept[s.PLAYED_AT] = extra.played_at or keep.played_at
                s.playback_map(doc)[s.NOW_PLAYING] = keep.id
            del items[extra.id]
            done.append(Repair("duplicate", extra.id, f"merged into {keep.id}"))
    return done


def _fix_playback(doc: Doc, playlist: Playlist, now: str) -> list[Repair]:
    if playlist.bad_now_playing:
        stop(doc)
        return [Repair("bad-play", None, "now_playing held no item id; stopped")]
    now_playing = playlist.now_playing
    if now_playing is None:
        return []
    item = playlist.get(now_playing)
    if item is None:
        stop(doc)
        return [Repair("dangling-play", now_playing, "playing item is gone; stopped")]
    if item.played_at is None:
        s.items_map(doc)[item.id][s.PLAYED_AT] = now
        return [Repair("stamp-played", item.id, "played_at was missing")]
    return []


def positions_exhausted(positions: list[float]) -> bool:
    """True when some neighbours cannot be split: equal, or no float between them."""
    for a, b in pairwise(positions):
        middle = (a + b) / 2
        if not a < middle < b:
            return True
    return False


def _respread_positions(doc: Doc, playlist: Playlist) -> list[Repair]:
    if not positions_exhausted(_positions(playlist)):
        return []
    items = s.items_map(doc)
    for index, item in enumerate(_by_position(playlist), start=1):
        if item.position != float(index):
            items[item.id][s.POSITION] = float(index)
    return [Repair("respread", None, f"{len(playlist.items)} items renumbered 1..n")]
