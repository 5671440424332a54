"""Schema v1 of a playlist document (CONTRACT §5).

A playlist is one ``Doc`` with three root maps::

    items:    Map[item_id -> Map{track_id, position, added_by, added_at, played_at,
                                 votes: Map[writer_key -> net votes], track?}]
    playback: Map{now_playing: item_id | None, started_at: str | None}
    settings: Map{auto_sort_by_votes: bool}

Positions are plain numbers rather than a Y.Array order because Yjs has no move
operation pycrdt and yjs agree on; votes are a PN-counter (one key per writer)
because Yjs has no counter type.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pycrdt import Doc, Map

ITEMS = "items"
PLAYBACK = "playback"
SETTINGS = "settings"

# Fields of an item map.
TRACK_ID = "track_id"
POSITION = "position"
ADDED_BY = "added_by"
ADDED_AT = "added_at"
PLAYED_AT = "played_at"
VOTES = "votes"
TRACK = "track"

# Fields of the playback map.
NOW_PLAYING = "now_playing"
STARTED_AT = "started_at"

# Fields of the settings map.
AUTO_SORT_BY_VOTES = "auto_sort_by_votes"
"""The seed's ``AUTO_SORT_BY_VOTES``, per playlist: order by votes, then position."""

DEFAULT_ADDED_BY = "Anonymous"
MERGED_VOTE_PREFIX = "merged:"
"""Vote key under which a repair carries a deleted duplicate's votes over."""


def items_map(doc: Doc) -> Map:
    """The ``items`` root map (created on first access, like ``doc.getMap`` in Yjs)."""
    return doc.get(ITEMS, type=Map)


def playback_map(doc: Doc) -> Map:
    """The ``playback`` root map."""
    return doc.get(PLAYBACK, type=Map)


def settings_map(doc: Doc) -> Map:
    """The ``settings`` root map (per-playlist options every client sees)."""
    return doc.get(SETTINGS, type=Map)


def merged_vote_key(deleted_item_id: str) -> str:
    return f"{MERGED_VOTE_PREFIX}{deleted_item_id}"


def iso_utc(moment: datetime, timespec: str = "milliseconds") -> str:
    """ISO-8601 in UTC with a ``Z``: the format of ``added_at``, ``played_at`` and the API's."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def utc_now_iso() -> str:
    """Now, as :func:`iso_utc` writes it."""
    return iso_utc(datetime.now(UTC))
