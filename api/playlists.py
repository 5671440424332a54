"""REST routes of a playlist (CONTRACT §2).

The same blueprint serves ``/api/playlist/…`` (the playlist named ``default``)
and ``/api/playlists/<name>/…``. Every write: validate, apply through the
room in one transaction, wait until it is stored, answer from the projection.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from uuid import uuid4

from quart import Blueprint, Response, current_app, jsonify, request
from quart_schema import document_querystring, document_request, document_response

from crdt import operations as ops
from crdt import schema as s
from crdt.projection import Item
from crdt.schema import utc_now_iso
from server.engine.origins import REST
from server.engine.room import Room
from server.surfaces.context import app_state

from . import validation
from .auth import default_added_by
from .errors import ApiError, ErrorCode, NotFound
from .models import (
    NewPlaylistItem,
    NoContent,
    Paging,
    PlaylistItem,
    PlaylistItemList,
    PlaylistItemPatch,
    PlaylistSettings,
    SettingsPatch,
    Status,
    Vote,
)
from .openapi import PAGE_NOT_FOUND, document_errors
from .pagination import paginate, paginates
from .serializers import item_json, track_copy

log = logging.getLogger(__name__)

playlist = Blueprint("playlist", __name__)

UNKNOWN_ITEM = document_errors(404, ErrorCode.NOT_FOUND, description="No item has this id")


def _item_response(item: Item, status: int = 200) -> Response:
    response = jsonify(item_json(item, app_state().library))
    response.status_code = status
    return response


def _existing(room: Room, item_id: str) -> Item:
    item = room.playlist.get(item_id)
    if item is None:
        raise NotFound("No such playlist item", details={"id": item_id})
    return item


async def _write(room: Room, fn, *args, **kwargs) -> None:
    """Apply ``fn`` in one transaction, then wait until it is committed."""
    _apply(room, fn, *args, **kwargs)
    await room.persisted()


async def _write_item(room: Room, item_id: str, fn, /, *args, **kwargs) -> Item:
    """:func:`_write`, then the item to answer with: as committed, or as this write left it
    if another change removed it meanwhile (a repair merged it into a duplicate, a peer
    deleted it). The write is committed either way, and a 404 would say it was not."""
    _apply(room, fn, *args, **kwargs)
    written = room.playlist.get(item_id)
    await room.persisted()
    item = room.playlist.get(item_id) or written
    if item is None:
        raise NotFound("No such playlist item", details={"id": item_id})
    return item


def _apply(room: Room, fn, *args, **kwargs) -> None:
    try:
        if room.playlist.auto_sort_stored:
            room.transact(REST, fn, *args, **kwargs)
        else:
            room.transact(REST, _with_settings, fn, *args, **kwargs)
    except (KeyboardInterrupt, SystemExit, asyncio.CancelledError, GeneratorExit):
        raise
    except BaseException as exc:
        # pycrdt panics (pyo3's PanicException, a BaseException) on input it cannot hold.
        # Validation refuses what is known to cause that before any transaction; this is the
        # last guard, so that the client gets an answer and the server keeps serving.
        log.error("a REST write to %s could not be applied: %r", room.name, exc)
        raise ApiError(
            "The change could not be applied to the playlist", code=ErrorCode.VALIDATION_ERROR
        ) from None


def _with_settings(doc, fn, *args, **kwargs) -> None:
    """Run ``fn``; a playlist's first REST write also stores the server's default order
    mode, so Yjs clients read the mode from the document like everyone else (once the
    projection says the document holds a mode, writes skip this)."""
    fn(doc, *args, **kwargs)
    if s.items_map(doc):  # nothing stored yet for an empty playlist: no playlist to create
        ops.ensure_settings(doc, app_state().settings.auto_sort_by_votes)


@playlist.get("/")
@document_querystring(Paging)
@document_response(PlaylistItemList)
@PAGE_NOT_FOUND
async def list_items(name: str):
    """List the items, by position (ties by id)"""
    state = app_state()
    async with state.rooms.use(validation.playlist_name(name)) as room:
        version = state.library.version  # an admin edit of a track renders items anew
        items = room.memo(
            f"items@{version}", lambda p: [item_json(item, state.library) for item in p.items]
        )
        if not paginates():  # the plain array: the same bytes until the playlist changes
            body = room.memo(f"items-body@{version}", lambda _: _compact_json(items))
        else:  # a page's links name the request's URL: its bytes are kept per URL
            url = (version, request.scheme, request.host, request.full_path)
            body = room.derived(("items-page", *url), lambda: _compact_json(paginate(items)))
    return Response(body, mimetype=JSON)


JSON = "application/json"


def _compact_json(value: object) -> bytes:
    """What ``jsonify`` would send (the app's JSON settings, compact), to keep and reuse:
    encoded, as a ``str`` body would be encoded again on every request."""
    return (current_app.json.dumps(value, separators=(",", ":")) + "\n").encode()


@playlist.post("/")
@document_request(NewPlaylistItem)
@document_response(PlaylistItem, 201)
@document_errors(
    400,
    ErrorCode.INVALID_JSON,
    ErrorCode.MISSING_TRACK_ID,
    ErrorCode.VALIDATION_ERROR,
    ErrorCode.TRACK_NOT_FOUND,
    ErrorCode.DUPLICATE_TRACK,
    ErrorCode.PLAYLIST_FULL,
    description="Invalid body, unknown track, the track is already in the playlist "
    "or the playlist is full "
    '(details `{"track_id": N}`)',
)
async def add_item(name: str):
    """Add a library track"""
    state = app_state()
    name = validation.playlist_name(name)
    body = await validation.json_object()
    new = validation.new_item(body)
    if body.get("added_by") in (None, "") and (subject := default_added_by()):
        new = replace(new, added_by=subject[: validation.ADDED_BY_MAX])  # the token's sub
    track = state.library.get(new.track_id)
    if track is None:
        raise ApiError(
            "Track not found", code=ErrorCode.TRACK_NOT_FOUND, details={"track_id": new.track_id}
        )
    async with state.rooms.use(name) as room:
        if len(room.playlist.items) >= state.settings.max_items:
            raise ApiError(
                f"The playlist is full ({state.settings.max_items} items)",
                code=ErrorCode.PLAYLIST_FULL,
                details={"max_items": state.settings.max_items},
            )
        if any(item.track_id == new.track_id for item in room.playlist.items):
            raise ApiError(
                "This track is already in the playlist",
                code=ErrorCode.DUPLICATE_TRACK,
                details={"track_id": new.track_id},
            )
        item_id = str(uuid4())
        item = await _write_item(
            room,
            item_id,
            ops.add_item,
            item_id=item_id,
            track_id=new.track_id,
            added_by=new.added_by,
            added_at=utc_now_iso(),
            # Appended from the room's projection, which is the document's as of now: left
            # to ops.add_item, every add re-read the whole document (8 ms at 200 items).
            position=room.playlist.next_position() if new.position is None else new.position,
            track=track_copy(track),
        )
        return _item_response(item, 201)


@playlist.get("/history/")
@document_querystring(Paging)
@document_response(PlaylistItemList)
@PAGE_NOT_FOUND
async def history(name: str):
    """Recently played items: those with `played_at`, newest first, at most 20"""
    state = app_state()
    async with state.rooms.use(validation.playlist_name(name)) as room:
        items = [item_json(item, state.library) for item in room.playlist.history()]
    return jsonify(paginate(items))


@playlist.post("/stop/")
@document_response(Status)
async def stop(name: str):
    """Stop playback: `{"status": "stopped"}`"""
    async with app_state().rooms.use(validation.playlist_name(name)) as room:
        await _write(room, ops.stop)
    return jsonify({"status": "stopped"})


def _settings_json(room: Room) -> dict[str, bool]:
    return {"auto_sort_by_votes": room.playlist.auto_sort}


@playlist.get("/settings/")
@document_response(PlaylistSettings)
async def get_settings(name: str):
    """The playlist's settings: its order mode"""
    async with app_state().rooms.use(validation.playlist_name(name)) as room:
        return jsonify(_settings_json(room))


@playlist.patch("/settings/")
@document_request(SettingsPatch)
@document_response(PlaylistSettings)
@document_errors(
    400, ErrorCode.INVALID_JSON, ErrorCode.VALIDATION_ERROR, description="Invalid body"
)
async def update_settings(name: str):
    """Order by votes or by position

    A change of order mode sends `playlist.updated` (the whole playlist, in its new order);
    the answer is the settings as they are now.
    """
    async with app_state().rooms.use(validation.playlist_name(name)) as room:
        enabled = validation.auto_sort(await validation.json_object())
        if enabled is not None:
            await _write(room, ops.set_auto_sort, enabled)
        return jsonify(_settings_json(room))


@playlist.get("/<item_id>/")
@document_response(PlaylistItem)
@UNKNOWN_ITEM
async def get_item(name: str, item_id: str):
    """Get an item

    Fixed paths (`history`, `stop`) win over ids.
    """
    async with app_state().rooms.use(validation.playlist_name(name)) as room:
        return _item_response(_existing(room, item_id))


def _patch(doc, item_id: str, patch: validation.ItemPatch, now: str) -> None:
    if patch.position is not None:
        ops.move_item(doc, item_id, patch.position)
    if patch.is_playing is True:
        ops.play(doc, item_id, now)
    elif patch.is_playing is False and ops.is_playing(doc, item_id):
        ops.stop(doc)


@playlist.patch("/<item_id>/")
@document_request(PlaylistItemPatch)
@document_response(PlaylistItem)
@document_errors(
    400, ErrorCode.INVALID_JSON, ErrorCode.VALIDATION_ERROR, description="Invalid body"
)
@UNKNOWN_ITEM
async def update_item(name: str, item_id: str):
    """Move an item, or play or stop it

    An unknown item is a 404 before the body is read.
    """
    async with app_state().rooms.use(validation.playlist_name(name)) as room:
        _existing(room, item_id)  # an unknown item is a 404 before the body is read
        patch = validation.item_patch(await validation.json_object())
        return _item_response(
            await _write_item(room, item_id, _patch, item_id, patch, utc_now_iso())
        )


@playlist.delete("/<item_id>/")
@document_response(NoContent, 204)
@UNKNOWN_ITEM
async def remove_item(name: str, item_id: str):
    """Remove an item (stops playback if it was playing)"""
    async with app_state().rooms.use(validation.playlist_name(name)) as room:
        _existing(room, item_id)
        await _write(room, ops.remove_item, item_id)
    return Response(status=204)


@playlist.post("/<item_id>/vote/")
@document_request(Vote)
@document_response(PlaylistItem)
@document_errors(
    400, ErrorCode.INVALID_JSON, ErrorCode.VALIDATION_ERROR, description="Invalid body"
)
@UNKNOWN_ITEM
async def vote(name: str, item_id: str):
    """Vote an item up or down"""
    state = app_state()
    async with state.rooms.use(validation.playlist_name(name)) as room:
        _existing(room, item_id)
        delta = validation.vote_delta(await validation.json_object())
        item = await _write_item(room, item_id, ops.vote, item_id, state.writer_key, delta)
        return _item_response(item)


@playlist.post("/<item_id>/play/")
@document_response(PlaylistItem)
@UNKNOWN_ITEM
async def play(name: str, item_id: str):
    """Play an item (every other item stops)"""
    async with app_state().rooms.use(validation.playlist_name(name)) as room:
        _existing(room, item_id)
        return _item_response(await _write_item(room, item_id, ops.play, item_id, utc_now_iso()))
