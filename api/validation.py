"""Request parsing: every client mistake becomes a precise 4xx before anything is applied."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from quart import request

from crdt.names import is_playlist_name
from crdt.schema import DEFAULT_ADDED_BY

from .errors import ApiError, ErrorCode, NotFound, ValidationError

ADDED_BY_MAX = 100


def playlist_name(name: str) -> str:
    if not is_playlist_name(name):
        raise NotFound(
            "Playlist names are 1-64 characters of A-Z a-z 0-9 _ -", details={"name": name}
        )
    return name


async def json_object() -> dict[str, Any]:
    """The request body as a JSON object (an empty body counts as ``{}``)."""
    raw = await request.get_data(as_text=False)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: nesting deeper than the decoder's stack allows.
        raise ApiError("Request body is not valid JSON", code=ErrorCode.INVALID_JSON) from exc
    if not isinstance(body, dict):
        raise ValidationError("Request body must be a JSON object")
    return body


def text(value: str, field: str) -> str:
    """A string the document can hold: pycrdt panics on one that is not valid Unicode.

    A lone surrogate (JSON ``"\\ud800"``) cannot be encoded as UTF-8; pycrdt raises a
    ``PanicException`` (a BaseException) in the middle of the write, after part of the
    transaction is applied, and a transaction cannot be rolled back. So it is refused here,
    before any transaction, and not echoed back (it cannot be encoded in the answer either).
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            f"{field} must be valid Unicode text (no lone surrogates)", details={"field": field}
        ) from None
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_INT_STRING = re.compile(r"-?[0-9]+")


def track_id(value: Any) -> int:
    """A track id: an integer, an integer-valued number, or a string of ASCII digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # no float() here: a huge int would overflow it
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_STRING.fullmatch(value.strip()):
        try:
            return int(value.strip())
        except ValueError:  # more digits than int() converts
            pass
    raise ValidationError("track_id must be an integer", details={"track_id": value})


def finite_number(value: Any, field: str) -> float:
    if _is_number(value):
        try:
            number = float(value)
        except OverflowError:  # an int beyond the float range
            number = math.inf
        if math.isfinite(number):
            return number
    raise ValidationError(f"{field} must be a finite number", details={field: value})


@dataclass(frozen=True)
class NewItem:
    track_id: int
    added_by: str
    position: float | None


def new_item(body: dict[str, Any]) -> NewItem:
    raw = body.get("track_id")
    if raw is None:
        raw = body.get("track")  # the legacy alias
    if raw is None:
        raise ApiError("track_id is required", code=ErrorCode.MISSING_TRACK_ID)
    added_by = body.get("added_by")
    if added_by is None or added_by == "":
        added_by = DEFAULT_ADDED_BY
    if not isinstance(added_by, str):
        raise ValidationError("added_by must be a string", details={"added_by": added_by})
    text(added_by, "added_by")
    if len(added_by) > ADDED_BY_MAX:
        raise ValidationError(
            f"added_by must be at most {ADDED_BY_MAX} characters",
            details={"added_by": len(added_by)},
        )
    position = body.get("position")
    return NewItem(
        track_id=track_id(raw),
        added_by=added_by,
        position=None if position is None else finite_number(position, "position"),
    )


@dataclass(frozen=True)
class ItemPatch:
    position: float | None
    is_playing: bool | None


def item_patch(body: dict[str, Any]) -> ItemPatch:
    position = body.get("position")
    is_playing = body.get("is_playing")
    if is_playing is not None and not isinstance(is_playing, bool):
        raise ValidationError(
            "is_playing must be true or false", details={"is_playing": is_playing}
        )
    return ItemPatch(
        position=None if position is None else finite_number(position, "position"),
        is_playing=is_playing,
    )


def vote_delta(body: dict[str, Any]) -> int:
    direction = body.get("direction")
    if direction == "up":
        return 1
    if direction == "down":
        return -1
    raise ValidationError('direction must be "up" or "down"', details={"direction": direction})


def auto_sort(body: dict[str, Any]) -> bool | None:
    """``{"auto_sort_by_votes": bool}`` of a settings PATCH (absent: no change)."""
    unknown = sorted(set(body) - {"auto_sort_by_votes"})
    if unknown:
        raise ValidationError("Unknown settings", details={"fields": unknown})
    value = body.get("auto_sort_by_votes")
    if value is not None and not isinstance(value, bool):
        raise ValidationError(
            "auto_sort_by_votes must be true or false", details={"auto_sort_by_votes": value}
        )
    return value
