"""Typed shapes of the REST API, for its OpenAPI document (CONTRACT §2).

These models document; they do not validate. Requests are parsed by hand in
:mod:`api.validation` (pydantic's lax mode would take ``{"track_id": true}`` for
track 1), and responses are built by :mod:`api.serializers`. So each model must
say exactly what the code accepts or sends: the schemathesis run
(``tests/api/test_schemathesis.py``) holds the server to them.

Response models forbid extra keys (the document says ``additionalProperties:
false``), so a field added to a response without adding it here fails that run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, WithJsonSchema

from crdt import diff
from crdt.names import PLAYLIST_NAME
from crdt.schema import DEFAULT_ADDED_BY

from .errors import ErrorCode
from .pagination import MAX_PAGE_SIZE
from .validation import ADDED_BY_MAX

# The largest finite float: a bigger number (JSON allows any) is not a finite position.
FLOAT_MAX = 1.7976931348623157e308


class Response(BaseModel):
    """A JSON body the server sends: exactly these keys."""

    model_config = ConfigDict(extra="forbid")


# -- responses ------------------------------------------------------------------------------


class Track(Response):
    """A track of the library."""

    id: int
    title: str
    artist: str
    album: str
    duration_seconds: int = Field(ge=0)
    duration_formatted: str = Field(
        description='"M:SS"', pattern=r"^[0-9]+:[0-5][0-9]$", examples=["4:30"]
    )
    genre: str
    cover_url: str | None
    created_at: datetime | None = Field(
        description="ISO-8601 UTC; null for a track a Yjs peer added that the library lacks"
    )


class PlaylistItem(Response):
    """An item of a playlist."""

    id: str = Field(description="Opaque and stable")
    track: Track
    track_id: int
    position: float = Field(description="Order key: by position, ties by id")
    votes: int = Field(description="Net votes; may be negative")
    added_by: str
    added_at: str = Field(description="ISO-8601 UTC")
    is_playing: bool
    played_at: str | None = Field(description="When it last started playing (ISO-8601)")


class PlaylistSummary(Response):
    """A playlist the server knows."""

    name: str = Field(pattern=PLAYLIST_NAME.pattern)
    created_at: datetime | None = Field(description="null while not yet stored")
    updated_at: datetime | None = Field(description="null while not yet stored")


class Status(Response):
    """A status word, e.g. `{"status": "stopped"}`."""

    status: str


class NoContent(Response):
    """No body."""

    media_type: ClassVar[str | None] = None


class EventStream(Response):
    """Server-Sent Events: `event:` the type, `id:` the seq, `data:` a `StreamEvent` as JSON."""

    media_type: ClassVar[str | None] = "text/event-stream"


class Html(Response):
    """An HTML page."""

    media_type: ClassVar[str | None] = "text/html"


class OpenApiDocument(RootModel[dict[str, Any]]):
    """The OpenAPI 3.1 document of this API."""


class _Page[T](Response):
    """One page of a list (when paginated)."""

    count: int = Field(ge=0, description="Items in all pages")
    next: str | None = Field(description="URL of the next page, or null")
    previous: str | None = Field(description="URL of the previous page, or null")
    results: list[T]


class TrackPage(_Page[Track]):
    """One page of tracks."""


class PlaylistItemPage(_Page[PlaylistItem]):
    """One page of playlist items."""


class PlaylistSummaryPage(_Page[PlaylistSummary]):
    """One page of playlists."""


class TrackList(RootModel[list[Track] | TrackPage]):
    """A JSON array of tracks; a `TrackPage` when paginated."""


class PlaylistItemList(RootModel[list[PlaylistItem] | PlaylistItemPage]):
    """A JSON array of playlist items; a `PlaylistItemPage` when paginated."""


class PlaylistSummaryList(RootModel[list[PlaylistSummary] | PlaylistSummaryPage]):
    """A JSON array of playlists; a `PlaylistSummaryPage` when paginated."""


class ErrorDetail(Response):
    code: ErrorCode
    message: str
    details: dict[str, Any] = Field(description='What was wrong, e.g. `{"track_id": 3}`')


class Error(Response):
    """Every error: a 4xx for a client's mistake, never a 500."""

    error: ErrorDetail


# The document's change types (crdt/diff.py names each once), between the stream's own messages.
EVENT_TYPES = (
    "connection.established",
    *(
        value
        for name, value in vars(diff).items()
        if name.startswith(("TRACK_", "PLAYLIST_")) and isinstance(value, str)
    ),
    "ping",
    "pong",
)


class PlaylistEmptied(BaseModel):
    id: str
    is_playing: Literal[False]


class PlaylistItems(BaseModel):
    items: list[PlaylistItem]


class StreamEvent(BaseModel):
    """One message of the event stream (a WebSocket text frame, or an SSE `data:`)."""

    type: str = Field(json_schema_extra={"enum": list(EVENT_TYPES)})
    payload: PlaylistItem | PlaylistEmptied | PlaylistItems | dict[str, str] | None = Field(
        None,
        description="`track.added`, `track.moved`, `track.voted`, `track.playing`: the full item; "
        "`track.removed`: `{id}`; `track.playing` when playback stops: `{id, is_playing: false}`; "
        "the `playlist.*` snapshot: `{items: [all, in order]}`",
    )
    seq: int | None = Field(
        None, description="On every `track.*` and `playlist.*` event; increases per playlist"
    )
    message: str | None = Field(None, description="On `connection.established`")
    ts: Any = Field(None, description="`ping`: ISO-8601 time; `pong`: the client's `ts` echoed")


# -- requests -------------------------------------------------------------------------------

# What api.validation.track_id takes: an integer (or integer-valued number), or ASCII digits.
TRACK_REF: dict[str, Any] = {
    "anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\s*-?[0-9]{1,4000}\s*$"}]
}
TrackRef = Annotated[int | str, WithJsonSchema(TRACK_REF)]


class Request(BaseModel):
    """A JSON object body; keys not named here are ignored."""

    body_required: ClassVar[bool] = True


class NewPlaylistItem(Request):
    """`track_id` (or its alias `track`, read when `track_id` is absent or null) is required."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["track_id"], "properties": {"track_id": {"not": {"type": "null"}}}},
                {
                    "required": ["track"],
                    "properties": {"track_id": {"type": "null"}, "track": TRACK_REF},
                },
            ]
        }
    )

    track_id: TrackRef | None = Field(None, description="The library track to add")
    track: Annotated[Any, WithJsonSchema({})] = Field(
        None, description="Alias of `track_id`, read only when `track_id` is absent or null"
    )
    added_by: str | None = Field(
        DEFAULT_ADDED_BY,
        max_length=ADDED_BY_MAX,
        description="Who adds it; empty or null means the default",
    )
    position: float | None = Field(
        None,
        ge=-FLOAT_MAX,
        le=FLOAT_MAX,
        description="Finite; default: last + 1, or 1.0 when empty",
    )


class PlaylistItemPatch(Request):
    """Only the fields given change; an empty body changes nothing."""

    body_required: ClassVar[bool] = False

    position: float | None = Field(None, ge=-FLOAT_MAX, le=FLOAT_MAX, description="Moves the item")
    is_playing: bool | None = Field(
        None,
        description="`true` plays the item (every other stops, `played_at` = now); "
        "`false` on the playing item stops playback",
    )


class Vote(Request):
    """+1 or -1; there is no floor."""

    direction: Literal["up", "down"]


# -- query strings ----------------------------------------------------------------------------


class Paging(BaseModel):
    """`?page=` or `?page_size=` asks for the page envelope."""

    page: Annotated[
        int | str,
        WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1}, {"enum": ["last", ""]}]}),
    ] = Field(1, description="1..last page, or `last`; any other value is a 404")
    page_size: str = Field(
        description=f"Items per page, at most {MAX_PAGE_SIZE}. Like DRF, anything but a positive "
        "integer means the default page size.",
        examples=["20"],
    )


class StreamQuery(BaseModel):
    since: int = Field(
        ge=0,
        description="Last seq seen: replays the events after it, or a snapshot of the whole "
        "playlist when it is too old. A value that is not an integer is ignored.",
    )


class StreamHeaders(BaseModel):
    last_event_id: str = Field(
        description="What a reconnecting `EventSource` sends; used when `since` is absent"
    )
