"""The OpenAPI document of the REST API, and a self-contained page that renders it.

The document is built from small helpers: a playlist's routes are described
once (:func:`_playlist_paths`) and mounted twice, at ``/api/playlist`` (the
playlist named ``default``) and at ``/api/playlists/{name}``, as the blueprint is.
Limits and enums come from the modules that enforce them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from crdt.names import PLAYLIST_NAME
from crdt.schema import DEFAULT_ADDED_BY

from .pagination import MAX_PAGE_SIZE
from .tracks import DEFAULT_ORDERING, ORDERING_FIELDS
from .validation import ADDED_BY_MAX

Json = dict[str, Any]

JSON = "application/json"
SSE = "text/event-stream"

# Every code an error body can carry (api/errors.py, api/validation.py, api/playlists.py,
# api/meta.py), with the message the server sends, for the examples.
ERROR_MESSAGES = {
    "INVALID_JSON": "Request body is not valid JSON",
    "MISSING_TRACK_ID": "track_id is required",
    "VALIDATION_ERROR": "track_id must be an integer",
    "TRACK_NOT_FOUND": "Track not found",
    "DUPLICATE_TRACK": "This track is already in the playlist",
    "NOT_FOUND": "No such playlist item",
    "BAD_REQUEST": "The browser (or proxy) sent a request that this server could not understand.",
    "METHOD_NOT_ALLOWED": "The method is not allowed for the requested URL.",
    "PAYLOAD_TOO_LARGE": "Request body too large",
    "UNSUPPORTED_MEDIA_TYPE": "Unsupported media type",
    "STORAGE_UNAVAILABLE": "The change could not be stored; try again",
    "DATABASE_UNAVAILABLE": "The database does not answer",
    "HTTP_ERROR": "Any other HTTP error raised before a handler ran",
    "INTERNAL_ERROR": "Internal server error",
    "FORBIDDEN": "The admin answers only on the server's own host (or to the admin role)",
}

EVENT_TYPES = (
    "connection.established",
    "track.added",
    "track.removed",
    "track.moved",
    "track.voted",
    "track.playing",
    "playlist.updated",
    "ping",
    "pong",
)

DESCRIPTION = f"""\
REST API of **playsync**, a local-first sync server for a collaborative playlist. It is \
compatible with the original Django playlist backend; the playlist itself is a Yjs document \
that REST calls, Yjs peers and the event stream all share.

* JSON in and out. Every path answers with and without its trailing slash.
* `/api/playlist/...` is the playlist named `default`; `/api/playlists/{{name}}/...` is any \
playlist (`name`: 1-64 of `A-Z a-z 0-9 _ -`), created on first write.
* Lists are plain JSON arrays. With `page` or `page_size` in the query (or when the server runs \
with `--paginate` / `PLAYSYNC_PAGINATE=1`) a list is a `{{count, next, previous, results}}` \
envelope instead (default page size 100, at most {MAX_PAGE_SIZE}).
* Errors are `{{"error": {{"code", "message", "details"}}}}`; client mistakes are 4xx, never 500.

Not describable in OpenAPI, so listed here:

* **WebSocket `/ws/playlist/`** (the `default` playlist) and **`/ws/playlists/{{name}}/`**: the \
legacy JSON event stream, the same events as the Server-Sent Events at `/api/stream` and \
`/api/playlists/{{name}}/stream` (schema `StreamEvent`). First message \
`{{"type": "connection.established"}}`; a client message `{{"type": "ping", "ts": ...}}` is \
answered with `{{"type": "pong", "ts": ...}}`; a `ping` heartbeat comes every 20 s; anything else \
a client sends is ignored. Reconnect with `?since=SEQ` to get what was missed.
* **WebSocket `/yjs/{{name}}`**: the y-websocket protocol (sync step 1 / step 2 / update, \
awareness) in binary frames, for Yjs clients: \
`new WebsocketProvider("ws://HOST:PORT/yjs", name, doc)`.
"""


# -- small builders ------------------------------------------------------------------------


def _ref(name: str, kind: str = "schemas") -> Json:
    return {"$ref": f"#/components/{kind}/{name}"}


def _obj(required: tuple[str, ...] | None = None, /, **properties: Json) -> Json:
    """An object schema; every property is required unless ``required`` says otherwise."""
    keys = list(properties) if required is None else list(required)
    return {"type": "object", "required": keys, "properties": properties}


def _t(type_: str | list[str], description: str | None = None, **extra: Any) -> Json:
    schema: Json = {"type": type_, **extra}
    if description:
        schema["description"] = description
    return schema


def _nullable(type_: str, description: str | None = None, **extra: Any) -> Json:
    return _t([type_, "null"], description, **extra)


def _content(schema: Json, media: str = JSON, **extra: Any) -> Json:
    return {media: {"schema": schema, **extra}}


def _ok(description: str, schema: Json | None = None, media: str = JSON) -> Json:
    response: Json = {"description": description}
    if schema is not None:
        response["content"] = _content(schema, media)
    return response


def _error(description: str, *codes: str) -> Json:
    """An error response, with one example per code it can carry."""
    examples = {
        code: {"value": {"error": {"code": code, "message": ERROR_MESSAGES[code], "details": {}}}}
        for code in codes
    }
    listed = ", ".join(f"`{code}`" for code in codes)
    return {
        "description": f"{description} ({listed})",
        "content": _content(_ref("Error"), examples=examples),
    }


def _param(name: str, where: str, schema: Json, description: str, **extra: Any) -> Json:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema,
        **extra,
    }


def _body(schema: Json, description: str) -> Json:
    return {"required": False, "description": description, "content": _content(schema)}


def _operation(
    tag: str,
    operation_id: str,
    summary: str,
    responses: Json,
    *,
    description: str | None = None,
    parameters: list[Json] | None = None,
    body: Json | None = None,
) -> Json:
    operation: Json = {"tags": [tag], "operationId": operation_id, "summary": summary}
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def _path(parameters: list[Json] | None = None, **operations: Json) -> Json:
    """A path item: its path parameters, then one operation per method."""
    return {"parameters": parameters, **operations} if parameters else dict(operations)


def _list_responses(items: str, description: str) -> Json:
    return {"200": _ok(description, _ref(f"{items}List"))}


# -- reusable components -------------------------------------------------------------------

PAGE_NOT_FOUND = "`page` is not a page number (1..last, or `last`)"
STORAGE = _error("The database did not answer", "STORAGE_UNAVAILABLE")
TOO_LARGE = _error("Request body larger than the server accepts", "PAYLOAD_TOO_LARGE")
BODY_ERRORS = ("INVALID_JSON", "VALIDATION_ERROR")


def _page_of(items: str) -> Json:
    link = _nullable("string", format="uri")
    return _obj(
        count=_t("integer", "Items in all pages", minimum=0),
        next={**link, "description": "URL of the next page, or null"},
        previous={**link, "description": "URL of the previous page, or null"},
        results=_t("array", items=_ref(items)),
    )


def _list_of(items: str) -> Json:
    return {
        "description": f"A JSON array of {items}; the `{items}Page` envelope when paginated",
        "oneOf": [_t("array", items=_ref(items)), _ref(f"{items}Page")],
    }


def _track_id_value(description: str) -> Json:
    return {
        "description": description,
        "anyOf": [
            _t("integer"),
            _t("string", "A string of digits", pattern=r"^\s*-?[0-9]+\s*$"),
        ],
    }


def _schemas() -> Json:
    timestamp = _t("string", "ISO-8601 UTC", format="date-time")
    schemas: Json = {
        "Track": _obj(
            id=_t("integer"),
            title=_t("string"),
            artist=_t("string"),
            album=_t("string"),
            duration_seconds=_t("integer", minimum=0),
            duration_formatted=_t("string", '"M:SS"', pattern=r"^\d+:\d\d$", examples=["4:30"]),
            genre=_t("string"),
            cover_url=_nullable("string"),
            created_at=_nullable(
                "string",
                "ISO-8601 UTC; null for a track a Yjs peer added that the library lacks",
                format="date-time",
            ),
        ),
        "PlaylistItem": _obj(
            id=_t("string", "Opaque and stable"),
            track=_ref("Track"),
            track_id=_t("integer"),
            position=_t("number", "Order key: by position, ties by id"),
            votes=_t("integer", "Net votes; may be negative"),
            added_by=_t("string"),
            added_at=timestamp,
            is_playing=_t("boolean"),
            played_at=_nullable("string", "When it last started playing", format="date-time"),
        ),
        "PlaylistSummary": _obj(
            name=_t("string", pattern=PLAYLIST_NAME.pattern),
            created_at=_nullable("string", "null while not yet stored", format="date-time"),
            updated_at=_nullable("string", "null while not yet stored", format="date-time"),
        ),
        "NewPlaylistItem": {
            **_obj(
                (),
                track_id=_track_id_value("The library track to add"),
                track=_track_id_value("Alias of `track_id` (used when `track_id` is absent)"),
                added_by=_nullable(
                    "string", "Empty or null means the default", maxLength=ADDED_BY_MAX
                )
                | {"default": DEFAULT_ADDED_BY},
                position=_nullable("number", "Finite; default: last + 1, or 1.0 when empty"),
            ),
            "anyOf": [{"required": ["track_id"]}, {"required": ["track"]}],
        },
        "PlaylistItemPatch": _obj(
            (),
            position=_nullable("number", "Finite; moves the item"),
            is_playing=_nullable(
                "boolean",
                "`true` plays the item (every other stops, `played_at` = now); "
                "`false` on the playing item stops playback",
            ),
        ),
        "Vote": _obj(direction=_t("string", "+1 or -1; there is no floor", enum=["up", "down"])),
        "Status": _obj(status=_t("string")),
        "Error": _obj(
            error=_obj(
                code=_t("string", enum=list(ERROR_MESSAGES)),
                message=_t("string"),
                details=_t("object", 'What was wrong, e.g. `{"track_id": 3}`'),
            )
        ),
        "StreamEvent": _obj(
            ("type",),
            type=_t("string", enum=list(EVENT_TYPES)),
            payload={
                "description": "`track.added`, `track.moved`, `track.voted`, `track.playing`: "
                "the full item; `track.removed`: `{id}`; `track.playing` when playback stops: "
                "`{id, is_playing: false}`; `playlist.updated`: `{items: [all, in order]}`",
                "oneOf": [
                    _ref("PlaylistItem"),
                    _obj(("id",), id=_t("string"), is_playing={"const": False}),
                    _obj(items=_t("array", items=_ref("PlaylistItem"))),
                ],
            },
            seq=_t("integer", "On every `track.*` and `playlist.*` event; increases per playlist"),
            message=_t("string", "On `connection.established`"),
            ts={"description": "`ping`: ISO-8601 time; `pong`: the client's `ts` echoed"},
        ),
    }
    for items in ("Track", "PlaylistItem", "PlaylistSummary"):
        schemas[f"{items}Page"] = _page_of(items)
        schemas[f"{items}List"] = _list_of(items)
    return schemas


def _parameters() -> Json:
    return {
        "PlaylistName": _param(
            "name",
            "path",
            _t("string", pattern=PLAYLIST_NAME.pattern, minLength=1, maxLength=64),
            "Playlist name; created on first write. Any other name is a 404.",
        ),
        "ItemId": _param("item_id", "path", _t("string"), "Playlist item id"),
        "TrackId": _param("track_id", "path", _t("integer"), "Track id"),
        "Page": _param(
            "page", "query", _t("integer", minimum=1), "Page number; asks for the envelope"
        ),
        "PageSize": _param(
            "page_size",
            "query",
            _t("integer", minimum=1, default=100),
            f"Items per page (at most {MAX_PAGE_SIZE}); asks for the envelope",
        ),
        "Since": _param(
            "since",
            "query",
            _t("integer", minimum=0),
            "Last seq seen: replays the events after it, or a `playlist.updated` snapshot "
            "when it is too old. A value that is not an integer is ignored.",
        ),
    }


PAGING = [_ref("Page", "parameters"), _ref("PageSize", "parameters")]


# -- paths ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mount:
    """Where the playlist blueprint is mounted."""

    prefix: str
    stream: str
    tag: str
    key: str  # operationId prefix
    parameters: tuple[Json, ...] = ()
    not_found: str | None = None  # a 404 every operation of this mount can answer


MOUNTS = (
    _Mount("/api/playlist", "/api/stream", "Default playlist", "default"),
    _Mount(
        "/api/playlists/{name}",
        "/api/playlists/{name}/stream",
        "Named playlists",
        "named",
        (_ref("PlaylistName", "parameters"),),
        "the playlist name is invalid",
    ),
)


_SETTINGS = _obj(auto_sort_by_votes=_t("boolean", "Order by votes, highest first"))


def _playlist_paths(m: _Mount) -> Json:
    """The routes of api/playlists.py, mounted at ``m``."""

    def op(op_id: str, summary: str, responses: Json, *, not_found=(), **kwargs) -> Json:
        reasons = [*not_found, *([m.not_found] if m.not_found else [])]
        responses = {**responses, "503": STORAGE}
        if reasons:
            responses["404"] = _error("Not found: " + "; ".join(reasons), "NOT_FOUND")
        return _operation(m.tag, f"{m.key}_{op_id}", summary, responses, **kwargs)

    unknown = ("no item has this id",)
    item = _ok("The item, as it is now", _ref("PlaylistItem"))
    item_params = [*m.parameters, _ref("ItemId", "parameters")]

    def item_body(schema: str, description: str, errors: tuple[str, ...] = BODY_ERRORS) -> Json:
        return {
            "body": _body(_ref(schema), description),
            "responses": {"200": item, "400": _error("Invalid body", *errors), "413": TOO_LARGE},
        }

    return {
        f"{m.prefix}/": _path(
            list(m.parameters),
            get=op(
                "list_items",
                "List the items",
                _list_responses("PlaylistItem", "Items by position, ties by id"),
                not_found=(PAGE_NOT_FOUND,),
                parameters=PAGING,
            ),
            post=op(
                "add_item",
                "Add a library track",
                {
                    "201": _ok("The new item", _ref("PlaylistItem")),
                    "400": _error(
                        "Invalid body, unknown track, or the track is already in the playlist "
                        '(details `{"track_id": N}`)',
                        "INVALID_JSON",
                        "MISSING_TRACK_ID",
                        "VALIDATION_ERROR",
                        "TRACK_NOT_FOUND",
                        "DUPLICATE_TRACK",
                    ),
                    "413": TOO_LARGE,
                },
                body=_body(_ref("NewPlaylistItem"), "`track_id` (or its alias `track`) required"),
            ),
        ),
        f"{m.prefix}/history/": _path(
            list(m.parameters),
            get=op(
                "history",
                "Recently played items",
                _list_responses("PlaylistItem", "Items with `played_at`, newest first, at most 20"),
                not_found=(PAGE_NOT_FOUND,),
                parameters=PAGING,
            ),
        ),
        f"{m.prefix}/stop/": _path(
            list(m.parameters),
            post=op(
                "stop",
                "Stop playback",
                {"200": _ok('`{"status": "stopped"}`', _ref("Status"))},
            ),
        ),
        f"{m.prefix}/settings/": _path(
            list(m.parameters),
            get=op(
                "get_settings",
                "The playlist's order mode",
                {"200": _ok("`auto_sort_by_votes`: order by votes, then position", _SETTINGS)},
            ),
            patch=op(
                "update_settings",
                "Order by votes or by position (a change sends `playlist.updated`)",
                {
                    "200": _ok("The settings, as they are now", _SETTINGS),
                    "400": _error("Invalid body", *BODY_ERRORS),
                    "413": TOO_LARGE,
                },
                body=_body(_SETTINGS, "`auto_sort_by_votes`: true or false"),
            ),
        ),
        f"{m.prefix}/{{item_id}}/": _path(
            item_params,
            get=op(
                "get_item",
                "Get an item",
                {"200": item},
                not_found=unknown,
                description="Fixed paths (`history`, `stop`) win over ids.",
            ),
            patch=op(
                "update_item",
                "Move an item, or play or stop it",
                not_found=unknown,
                description="An unknown item is a 404 before the body is read.",
                **item_body("PlaylistItemPatch", "Only the fields given change"),
            ),
            delete=op(
                "remove_item",
                "Remove an item (stops playback if it was playing)",
                {"204": {"description": "Removed"}},
                not_found=unknown,
            ),
        ),
        f"{m.prefix}/{{item_id}}/vote/": _path(
            item_params,
            post=op(
                "vote",
                "Vote an item up or down",
                not_found=unknown,
                **item_body("Vote", "The direction", ("INVALID_JSON", "VALIDATION_ERROR")),
            ),
        ),
        f"{m.prefix}/{{item_id}}/play/": _path(
            item_params,
            post=op(
                "play",
                "Play an item (every other item stops)",
                {"200": item},
                not_found=unknown,
            ),
        ),
    }


def _stream_path(m: _Mount) -> Json:
    description = (
        "Server-Sent Events: `event:` the type, `id:` the seq, `data:` a `StreamEvent` as JSON. "
        "The same events as the WebSocket event stream (see the API description), starting "
        "with `connection.established`, with a `ping` heartbeat while nothing happens."
    )
    responses: Json = {
        "200": {
            "description": "An endless stream of events",
            "content": _content(_t("string"), SSE, **{"x-event-data": _ref("StreamEvent")}),
        }
    }
    if m.not_found:
        responses["404"] = _error(f"Not found: {m.not_found}", "NOT_FOUND")
    responses["503"] = STORAGE
    return _path(
        list(m.parameters),
        get=_operation(
            "Event stream",
            f"{m.key}_stream",
            f"Events of the {m.tag.lower().removesuffix('s')}",
            responses,
            description=description,
            parameters=[
                _ref("Since", "parameters"),
                _param(
                    "Last-Event-ID",
                    "header",
                    _t("string"),
                    "What a reconnecting `EventSource` sends; used when `since` is absent",
                ),
            ],
        ),
    )


def _track_paths() -> Json:
    ordering = [f"{sign}{field}" for field in sorted(ORDERING_FIELDS) for sign in ("", "-")]
    return {
        "/api/tracks/": _path(
            get=_operation(
                "Tracks",
                "list_tracks",
                "List the track library",
                {
                    **_list_responses("Track", "Matching tracks"),
                    "404": _error(f"Not found: {PAGE_NOT_FOUND}", "NOT_FOUND"),
                },
                parameters=[
                    _param(
                        "search",
                        "query",
                        _t("string"),
                        "Case-insensitive substring of title, artist or album",
                    ),
                    _param("genre", "query", _t("string"), "Exact genre"),
                    _param(
                        "ordering",
                        "query",
                        _t("string", enum=ordering),
                        f"Sort field, `-` for descending; default {', '.join(DEFAULT_ORDERING)}. "
                        "Like DRF, a comma-separated list also works and unknown fields are "
                        "ignored.",
                    ),
                    *PAGING,
                ],
            )
        ),
        "/api/tracks/{track_id}/": _path(
            [_ref("TrackId", "parameters")],
            get=_operation(
                "Tracks",
                "get_track",
                "Get a track",
                {
                    "200": _ok("The track", _ref("Track")),
                    "404": _error("No such track", "NOT_FOUND"),
                },
            ),
        ),
    }


def _service_paths() -> Json:
    tag = "Service"
    return {
        "/health": _path(
            get=_operation(
                tag,
                "health",
                "Health check",
                {
                    "200": _ok("The database answers", _ref("Status")),
                    "503": _error("The database does not answer", "DATABASE_UNAVAILABLE"),
                },
            )
        ),
        "/api/playlists/": _path(
            get=_operation(
                tag,
                "list_playlists",
                "List the playlists",
                {
                    **_list_responses("PlaylistSummary", "Playlists by name"),
                    "404": _error(f"Not found: {PAGE_NOT_FOUND}", "NOT_FOUND"),
                },
                parameters=PAGING,
            )
        ),
        "/api/openapi.json": _path(
            get=_operation(
                tag, "openapi", "This document", {"200": _ok("OpenAPI 3.1", _t("object"))}
            )
        ),
        "/api/docs/": _path(
            get=_operation(
                tag,
                "docs",
                "A page that renders this document",
                {"200": _ok("HTML", _t("string"), "text/html")},
            )
        ),
    }


def _admin_paths() -> Json:
    """api/admin.py: for the admin role, or the server's own host when auth is off."""
    tag = "Admin"
    forbidden = {
        "403": _error("Not the admin role, or not from the server's own host", "FORBIDDEN")
    }
    name = _ref("PlaylistName", "parameters")
    track = [_ref("TrackId", "parameters")]
    item = [name, _ref("ItemId", "parameters")]
    obj = _t("object")
    bad = {"400": _error("Invalid body", *BODY_ERRORS), "413": TOO_LARGE}
    missing = {"404": _error("No such track, playlist or item", "NOT_FOUND")}

    def op(op_id: str, summary: str, responses: Json, **kwargs: Any) -> Json:
        return _operation(tag, f"admin_{op_id}", summary, {**responses, **forbidden}, **kwargs)

    return {
        "/api/admin/tracks/": _path(
            get=op("list_tracks", "The track library", {"200": _ok("Tracks by id", obj)}),
            post=op(
                "add_track",
                "Add a track",
                {"201": _ok("The new track", _ref("Track")), **bad},
                body=_body(obj, "title, artist, album, duration_seconds, genre, cover_url?"),
            ),
        ),
        "/api/admin/tracks/{track_id}/": _path(
            track,
            patch=op(
                "edit_track",
                "Edit a track",
                {"200": _ok("The track", _ref("Track")), **bad, **missing},
                body=_body(obj, "Only the fields given change"),
            ),
            delete=op(
                "remove_track", "Remove a track", {"204": {"description": "Removed"}, **missing}
            ),
        ),
        "/api/admin/playlists/": _path(
            get=op(
                "list_playlists", "Playlists: items, peers, stored size", {"200": _ok("Rows", obj)}
            )
        ),
        "/api/admin/playlists/{name}/": _path(
            [name],
            delete=op(
                "delete_playlist",
                "Delete a playlist (emptied only, while clients are connected)",
                {"204": {"description": "Deleted"}, "200": _ok("Emptied, kept", obj), **missing},
            ),
        ),
        "/api/admin/playlists/{name}/export/": _path(
            [name], get=op("export_playlist", "Export as JSON", {"200": _ok("The export", obj)})
        ),
        "/api/admin/playlists/{name}/import/": _path(
            [name],
            post=op(
                "import_playlist",
                "Replace a playlist with an export",
                {"200": _ok("The playlist, as exported now", obj), **bad},
                body=_body(obj, "An export"),
            ),
        ),
        "/api/admin/playlists/{name}/items/{item_id}/": _path(
            item,
            delete=op(
                "remove_item", "Remove an item", {"204": {"description": "Removed"}, **missing}
            ),
        ),
        "/api/admin/playlists/{name}/items/{item_id}/reset-votes/": _path(
            item,
            post=op(
                "reset_votes",
                "Bring an item's votes to 0",
                {"200": _ok("id, votes", obj), **missing},
            ),
        ),
        "/api/admin/playlists/{name}/stop/": _path(
            [name], post=op("stop", "Stop playback", {"200": _ok("Stopped", _ref("Status"))})
        ),
    }


TAGS = (
    ("Tracks", "The read-only track library"),
    ("Default playlist", "The playlist named `default`"),
    ("Named playlists", "Any playlist, by name; created on first write"),
    ("Event stream", "Changes of a playlist as Server-Sent Events"),
    ("Service", "Health, the list of playlists, this document"),
    ("Admin", "The track library, playlists and moderation (the seed's /admin/)"),
)


def openapi_spec() -> dict[str, Any]:
    paths: Json = {**_track_paths()}
    for mount in MOUNTS:
        paths |= _playlist_paths(mount)
    for mount in MOUNTS:
        paths[mount.stream] = _stream_path(mount)
    paths |= _service_paths()
    paths |= _admin_paths()
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "playsync", "version": "1", "description": DESCRIPTION},
        "tags": [{"name": name, "description": text} for name, text in TAGS],
        "paths": paths,
        "components": {"schemas": _schemas(), "parameters": _parameters()},
    }
    return copy.deepcopy(spec)  # no dict shared between operations, nor between calls


# -- the docs page -------------------------------------------------------------------------

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>playsync API</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#222}
h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
code,pre{font:13px/1.4 ui-monospace,monospace}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;white-space:pre-wrap}
details{border:1px solid #ddd;border-radius:4px;margin:.4rem 0;padding:.3rem .6rem}
summary{cursor:pointer}
.m{display:inline-block;width:4.5rem;font-weight:bold;font-family:monospace;
text-transform:uppercase}
.get{color:#06c}.post{color:#080}.patch{color:#a60}.delete{color:#c00}
table{border-collapse:collapse}td,th{text-align:left;padding:.1rem .6rem .1rem 0;vertical-align:top}
.d{white-space:pre-wrap;color:#555}
</style>
</head>
<body>
<h1>playsync API</h1>
<p>The OpenAPI document: <a href="/api/openapi.json">/api/openapi.json</a></p>
<main id="doc">Loading&hellip;</main>
<script>
const esc = s => String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
  '"': "&quot;"})[c]);
const md = s => esc(s || "").replace(/`([^`]+)`/g, "<code>$1</code>")
  .replace(/[*][*]([^*]+)[*][*]/g, "<b>$1</b>");
const refName = r => r.split("/").pop();
function fmt(s, ind = "") {
  if (!s) return "";
  if (s.$ref) return `<a href="#s-${esc(refName(s.$ref))}">${esc(refName(s.$ref))}</a>`;
  const alt = s.oneOf || s.anyOf;
  if (alt && !s.properties) return alt.map(x => fmt(x, ind)).join(" | ");
  if ("const" in s) return esc(JSON.stringify(s.const));
  if (s.enum) return s.enum.map(v => esc(JSON.stringify(v))).join(" | ");
  const t = [].concat(s.type || "any");
  if (s.properties) {
    const req = s.required || [], pad = ind + "  ";
    const rows = Object.entries(s.properties).map(([k, v]) =>
      `${pad}${esc(k)}${req.includes(k) ? "" : "?"}: ${fmt(v, pad)}`);
    return `{\\n${rows.join(",\\n")}\\n${ind}}` + (t.includes("null") ? " | null" : "");
  }
  if (s.items) return fmt(s.items, ind) + "[]";
  return t.map(x => esc(x + (x !== "null" && s.format ? `<${s.format}>` : ""))).join(" | ");
}
function render(spec) {
  const ref = o => o && o.$ref ? ref(spec.components.parameters[refName(o.$ref)]) : o;
  const deref = s => s && s.$ref ? deref(spec.components.schemas[refName(s.$ref)]) : s;
  const tags = (spec.tags || []).map(t => t.name), groups = {};
  for (const [path, item] of Object.entries(spec.paths))
    for (const [method, op] of Object.entries(item)) {
      if (method === "parameters") continue;
      const tag = (op.tags || ["other"])[0];
      if (!tags.includes(tag)) tags.push(tag);
      (groups[tag] = groups[tag] || []).push({path, method, op,
        params: [...(item.parameters || []), ...(op.parameters || [])].map(ref)});
    }
  let h = `<div class="d">${md(spec.info.description)}</div>`;
  for (const tag of tags.filter(t => groups[t])) {
    h += `<h2>${esc(tag)}</h2>`;
    for (const {path, method, op, params} of groups[tag]) {
      h += `<details><summary><span class="m ${method}">${method}</span> ` +
        `<code>${esc(path)}</code> ${esc(op.summary || "")}</summary>`;
      if (op.description) h += `<p>${md(op.description)}</p>`;
      if (params.length) h += "<h4>Parameters</h4><table>" + params.map(p =>
        `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}` +
        `${p.required ? ", required" : ""}</td><td><code>${fmt(p.schema)}</code></td>` +
        `<td>${md(p.description)}</td></tr>`
      ).join("") + "</table>";
      const body = op.requestBody;
      if (body) for (const [media, c] of Object.entries(body.content))
        h += `<h4>Request body (${esc(media)})</h4><p>${md(body.description)}</p>` +
          `<pre>${c.schema.$ref ? fmt(c.schema) + " = " : ""}${fmt(deref(c.schema))}</pre>`;
      h += "<h4>Responses</h4><table>";
      for (const [code, r] of Object.entries(op.responses)) {
        const c = Object.entries(r.content || {}).map(([m, x]) =>
          `<code>${esc(m)}</code> ${fmt(x.schema)}`).join("<br>");
        h += `<tr><td><b>${esc(code)}</b></td><td>${md(r.description)}</td><td>${c}</td></tr>`;
      }
      h += "</table></details>";
    }
  }
  h += "<h2>Schemas</h2>";
  for (const [name, s] of Object.entries(spec.components.schemas))
    h += `<h3 id="s-${esc(name)}">${esc(name)}</h3>` +
      `<p>${md(s.description)}</p>` + `<pre>${fmt(s)}</pre>`;
  document.getElementById("doc").innerHTML = h;
}
fetch("/api/openapi.json").then(r => r.json()).then(render).catch(e => {
  document.getElementById("doc").textContent = "Could not load the API description: " + e;
});
</script>
</body>
</html>
"""


def docs_page() -> str:
    return DOCS_PAGE
