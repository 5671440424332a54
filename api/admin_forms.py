"""Validation of what the admin sends (CONTRACT §11): tracks, and a playlist to import.

Limits follow the library table (``server/engine/storage.py``): a title, artist or album
of at most 200 characters, a genre of at most 50, a cover URL of at most 500.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import ValidationError
from .validation import ADDED_BY_MAX, finite_number, track_id

TEXT_FIELDS = {"title": 200, "artist": 200, "album": 200, "genre": 50}
COVER_URL_MAX = 500
DURATION_MAX = 24 * 3600
EXPORT_VERSION = 1
ID_MAX = 64
TIME_MAX = 40


def _text(body: dict[str, Any], field: str, limit: int) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must be a non-empty string", details={field: value})
    value = value.strip()
    if len(value) > limit:
        raise ValidationError(
            f"{field} must be at most {limit} characters", details={field: len(value)}
        )
    _no_lone_surrogates(value, field)
    return value


def _no_lone_surrogates(value: str, field: str) -> None:
    """pycrdt and SQLite refuse (or panic on) a lone surrogate, and PostgreSQL's text holds no
    NUL character: a 400 before any write, not a 503 from the database."""
    if "\x00" in value:
        raise ValidationError(f"{field} is not valid text", details={field: "NUL character"})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{field} is not valid text", details={field: "lone surrogate"}
        ) from exc


def _duration(value: Any) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= DURATION_MAX  # first: an int too big for a float is out of range
        or not math.isfinite(value)
        or not float(value).is_integer()
    ):
        raise ValidationError(
            f"duration_seconds must be a whole number of seconds, 1 to {DURATION_MAX}",
            details={"duration_seconds": value},
        )
    return int(value)


def _cover_url(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > COVER_URL_MAX:
        raise ValidationError(
            f"cover_url must be null or a URL of at most {COVER_URL_MAX} characters",
            details={"cover_url": value if not isinstance(value, str) else len(value)},
        )
    if not value.startswith(("http://", "https://", "/")):
        raise ValidationError("cover_url must be an http(s) URL", details={"cover_url": value})
    _no_lone_surrogates(value, "cover_url")
    return value


TRACK_FIELDS = {*TEXT_FIELDS, "duration_seconds", "cover_url"}


def track_fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The columns of a new track (every field but ``cover_url`` required), or of an
    edit (``partial``: only the fields given)."""
    unknown = sorted(set(body) - TRACK_FIELDS - {"id", "created_at", "duration_formatted"})
    if unknown:
        raise ValidationError("Unknown track fields", details={"fields": unknown})
    fields: dict[str, Any] = {}
    for field, limit in TEXT_FIELDS.items():
        if not partial or field in body:
            fields[field] = _text(body, field, limit)
    if not partial or "duration_seconds" in body:
        fields["duration_seconds"] = _duration(body.get("duration_seconds"))
    if not partial or "cover_url" in body:
        fields["cover_url"] = _cover_url(body.get("cover_url"))
    return fields


@dataclass(frozen=True)
class ImportedItem:
    id: str
    track_id: int
    position: float
    votes: int
    added_by: str
    added_at: str
    played_at: str | None


@dataclass(frozen=True)
class ImportedPlaylist:
    items: list[ImportedItem]
    now_playing: str | None
    auto_sort_by_votes: bool | None


def _short_text(value: Any, field: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationError(
            f"{field} must be a string of at most {limit} characters", details={"field": field}
        )
    _no_lone_surrogates(value, field)
    return value


def _timestamp(value: Any, field: str) -> str:
    """An ISO-8601 date and time (CONTRACT §2), kept as written: what REST serves it as."""
    text = _short_text(value, field, TIME_MAX)
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{field} must be an ISO-8601 date and time", details={"field": field}
        ) from None
    return text


def _votes(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**31:
        raise ValidationError("votes must be an integer", details={"votes": value})
    return value


def _imported_item(raw: Any, index: int) -> ImportedItem:
    if not isinstance(raw, dict):
        raise ValidationError("Each item must be an object", details={"index": index})
    item_id = _short_text(raw.get("id"), "id", ID_MAX)
    if not item_id:
        raise ValidationError("An item id must not be empty", details={"index": index})
    added_at, played_at = raw.get("added_at", ""), raw.get("played_at")
    return ImportedItem(
        id=item_id,
        track_id=track_id(raw.get("track_id")),
        position=finite_number(raw.get("position"), "position"),
        votes=_votes(raw.get("votes", 0)),
        added_by=_short_text(raw.get("added_by", "Anonymous"), "added_by", ADDED_BY_MAX),
        added_at="" if added_at == "" else _timestamp(added_at, "added_at"),
        played_at=None if played_at is None else _timestamp(played_at, "played_at"),
    )


def imported_playlist(body: dict[str, Any], max_items: int) -> ImportedPlaylist:
    """An export (``GET …/export``) to load into a playlist; checked whole before any write."""
    version = body.get("version", EXPORT_VERSION)
    if isinstance(version, bool) or version != EXPORT_VERSION:  # true == 1 in Python
        raise ValidationError(
            f"Only export version {EXPORT_VERSION} can be imported",
            details={"version": body.get("version")},
        )
    raw_items = body.get("items")
    if not isinstance(raw_items, list):
        raise ValidationError("items must be a list", details={"items": type(raw_items).__name__})
    if len(raw_items) > max_items:
        raise ValidationError(
            f"A playlist holds at most {max_items} items", details={"items": len(raw_items)}
        )
    items = [_imported_item(raw, index) for index, raw in enumerate(raw_items)]
    for field in ("id", "track_id"):
        values = [getattr(item, field) for item in items]
        if len(set(values)) != len(values):
            raise ValidationError(f"Two items share a {field}", details={"field": field})
    now_playing = body.get("now_playing")
    if now_playing is not None and (
        not isinstance(now_playing, str) or now_playing not in {item.id for item in items}
    ):
        raise ValidationError(
            "now_playing must name an imported item", details={"now_playing": now_playing}
        )
    settings = body.get("settings")
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):  # false, 0, "" or [] too: not "no settings"
        raise ValidationError("settings must be an object")
    auto_sort = settings.get("auto_sort_by_votes")
    if auto_sort is not None and not isinstance(auto_sort, bool):
        raise ValidationError(
            "auto_sort_by_votes must be true or false", details={"auto_sort_by_votes": auto_sort}
        )
    return ImportedPlaylist(items=items, now_playing=now_playing, auto_sort_by_votes=auto_sort)
