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

from .admin_forms import COVER_URL_MAX, DURATION_MAX, EXPORT_VERSION, ID_MAX, TEXT_FIELDS, TIME_MAX
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


class Readiness(Response):
    """Every dependency answers: `{"status": "ready", "checks": {"database": "ok", ...}}`."""

    status: str
    checks: dict[str, str] = Field(description="Each dependency checked (database, redis)")


class PrometheusText(Response):
    """Prometheus text exposition format."""

    media_type: ClassVar[str | None] = "text/plain"


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


class PlaylistSettings(Response):
    """A playlist's settings (the document's `settings` map)."""

    auto_sort_by_votes: bool = Field(
        description="Lists and `playlist.updated` order items by votes, highest first, then "
        "position, then id"
    )


# -- responses of the admin API (api/admin.py) ---------------------------------------------


class TrackArray(RootModel[list[Track]]):
    """A JSON array of tracks, by id (never paginated)."""


class AdminPlaylist(Response):
    """A playlist as the admin sees it."""

    name: str = Field(pattern=PLAYLIST_NAME.pattern)
    items: int = Field(ge=0, description="Items in the playlist")
    peers: int = Field(ge=0, description="Yjs peers connected to this server process")
    listeners: int = Field(ge=0, description="Event-stream listeners on this server process")
    stored_bytes: int = Field(ge=0, description="Stored size: snapshot plus updates since")
    auto_sort_by_votes: bool
    created_at: datetime | None = Field(description="null while not yet stored")
    updated_at: datetime | None = Field(description="null while not yet stored")


class AdminPlaylistList(RootModel[list[AdminPlaylist]]):
    """A JSON array of playlists, by name (never paginated)."""


class PlaylistCleared(Response):
    """Emptied but kept: clients are connected to it (dropping its history under them would
    let their next update come back without what it builds on)."""

    status: Literal["cleared"]
    connected: int = Field(ge=0, description="Peers and listeners connected to it")


class ExportedItem(Response):
    """An item of an export: what the document holds, votes as their total."""

    id: str
    track_id: int
    position: float
    votes: int
    added_by: str
    added_at: str = Field(description="ISO-8601 UTC")
    played_at: str | None = Field(description="ISO-8601, or null")


class PlaylistExport(Response):
    """A playlist as JSON, what `POST …/import/` reads back."""

    version: Literal[1] = Field(description="The export format's version")
    name: str = Field(pattern=PLAYLIST_NAME.pattern)
    exported_at: str = Field(description="ISO-8601 UTC")
    settings: PlaylistSettings
    now_playing: str | None = Field(description="The id of the item playing, or null")
    items: list[ExportedItem] = Field(description="By position, ties by id")


class VotesReset(Response):
    """The item's votes after the reset."""

    id: str
    votes: int


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


class SettingsPatch(Request):
    """Only the settings given change; an empty body changes nothing. Any other key is a 400."""

    model_config = ConfigDict(extra="forbid")
    body_required: ClassVar[bool] = False

    auto_sort_by_votes: bool | None = Field(
        None, description="Order by votes (`true`) or by position (`false`)"
    )


# -- requests of the admin API (api/admin.py, validated by api/admin_forms.py) ---------------

# The text fields are checked with their spaces stripped: the document cannot say that, so
# their lengths are in the descriptions only (a longer string with spaces around may pass).
_TEXT = "Not empty; at most {} characters, leading and trailing spaces removed"
COVER_URL = r"^(?:https?://|/|$)"
_COVER_URL_TEXT = (
    f"An http(s) URL or a path, at most {COVER_URL_MAX} characters; null or empty: no cover"
)
_IGNORED = "Ignored: a track as the API sends it can be sent back"
Ignored = Annotated[Any, WithJsonSchema({})]


class NewTrack(Request):
    """A track for the library; it gets the next free id. Any other key is a 400."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, description=_TEXT.format(TEXT_FIELDS["title"]))
    artist: str = Field(min_length=1, description=_TEXT.format(TEXT_FIELDS["artist"]))
    album: str = Field(min_length=1, description=_TEXT.format(TEXT_FIELDS["album"]))
    duration_seconds: int = Field(gt=0, le=DURATION_MAX)
    genre: str = Field(min_length=1, description=_TEXT.format(TEXT_FIELDS["genre"]))
    cover_url: str | None = Field(
        None, max_length=COVER_URL_MAX, pattern=COVER_URL, description=_COVER_URL_TEXT
    )
    id: Ignored = Field(None, description=_IGNORED)
    duration_formatted: Ignored = Field(None, description=_IGNORED)
    created_at: Ignored = Field(None, description=_IGNORED)


def _nothing_required(schema: dict[str, Any]) -> None:
    schema.pop("required", None)


class TrackPatch(Request):
    """Only the fields given change (none may be null but `cover_url`). Any other key is a
    400."""

    # Fields without a default (a null default would not fit their schema), none required.
    model_config = ConfigDict(extra="forbid", json_schema_extra=_nothing_required)
    body_required: ClassVar[bool] = False

    title: str = Field(min_length=1, description=_TEXT.format(TEXT_FIELDS["title"]))
    artist: str = Field(min_length=1, description=_TEXT.format(TEXT_FIELDS["artist"]))
    album: str = Field(min_length=1, description=_TEXT.format(TEXT_FIELDS["album"]))
    duration_seconds: int = Field(gt=0, le=DURATION_MAX)
    genre: str = Field(min_length=1, description=_TEXT.format(TEXT_FIELDS["genre"]))
    cover_url: str | None = Field(
        None, max_length=COVER_URL_MAX, pattern=COVER_URL, description=_COVER_URL_TEXT
    )
    id: Ignored = Field(None, description=_IGNORED)
    duration_formatted: Ignored = Field(None, description=_IGNORED)
    created_at: Ignored = Field(None, description=_IGNORED)


VOTES_MAX = 2**31


class ImportItem(Request):
    """An item of an export; its id is kept."""

    id: str = Field(min_length=1, max_length=ID_MAX)
    track_id: TrackRef = Field(description="A library track; each track once")
    position: float = Field(ge=-FLOAT_MAX, le=FLOAT_MAX)
    votes: int = Field(0, ge=-VOTES_MAX, le=VOTES_MAX, description="The item's total")
    added_by: str = Field(DEFAULT_ADDED_BY, max_length=ADDED_BY_MAX)
    added_at: str = Field("", max_length=TIME_MAX, description="ISO-8601 UTC; empty: now")
    played_at: str | None = Field(None, max_length=TIME_MAX, description="ISO-8601, or null")


class ImportSettings(Request):
    auto_sort_by_votes: bool | None = Field(None, description="null: unchanged")


class PlaylistImport(Request):
    """An export (`GET …/export/`): it replaces the playlist's items, playback and settings,
    checked whole before anything is written."""

    version: Literal[1] = Field(EXPORT_VERSION, description="The export format's version")
    items: list[ImportItem] = Field(
        description="At most the server's `max_items` (1000 unless configured); ids and "
        "track ids each once"
    )
    now_playing: str | None = Field(None, description="The id of an imported item, or null")
    settings: ImportSettings | None = None


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
