"""The admin JSON API (CONTRACT §11, the seed's Django ``/admin/``): ``/api/admin/…``.

- the track library: list, add, edit, remove (SQL first, then the in-memory library);
- playlists: list (items, peers online, stored size), delete, export and import as JSON;
- moderation of a playlist: remove an item, reset its votes, stop playback.

Every playlist change goes through the room, like any REST write. Who may call it:
see :func:`require_admin`.
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

from quart import Blueprint, Response, jsonify, request
from quart_schema import document_request, document_response, tag_blueprint

from crdt import operations as ops
from crdt.projection import Playlist
from crdt.schema import utc_now_iso
from server.engine import storage as store
from server.engine.origins import REST
from server.engine.room import Room
from server.surfaces.context import app_state

from . import admin_forms as forms
from . import validation
from .errors import ApiError, ErrorCode, NotFound
from .models import (
    AdminPlaylistList,
    NewTrack,
    NoContent,
    PlaylistCleared,
    PlaylistExport,
    PlaylistImport,
    Status,
    Track,
    TrackArray,
    TrackPatch,
    VotesReset,
)
from .openapi import document_errors
from .serializers import iso, track_copy, track_json

admin = Blueprint("admin", __name__)
tag_blueprint(admin, ["Admin"])

# What the tracks.id column holds (a 32-bit INTEGER on PostgreSQL): no track has another id,
# and the database refuses to compare with one.
TRACK_IDS = range(-(2**31), 2**31)
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


class Forbidden(ApiError):
    status = 403
    code = ErrorCode.FORBIDDEN


# Every route of the blueprint: require_admin runs before each.
ADMIN_ONLY = document_errors(
    403,
    ErrorCode.FORBIDDEN,
    description="With access control off: not from the server's own host (a proxy header, "
    "another address or another Host); with it on: not the admin role",
)
BAD_BODY = document_errors(
    400, ErrorCode.INVALID_JSON, ErrorCode.VALIDATION_ERROR, description="Invalid body"
)
UNKNOWN_TRACK = document_errors(404, ErrorCode.NOT_FOUND, description="No track has this id")
UNKNOWN_ITEM = document_errors(404, ErrorCode.NOT_FOUND, description="No item has this id")


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ip_address(address).is_loopback
    except ValueError:
        return False


def _host_name() -> str:
    host = request.host or ""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@admin.before_request
async def require_admin() -> None:
    """The admin role; with access control off, requests from the server's own host only.

    Loopback alone is not enough: behind a reverse proxy every request comes from
    127.0.0.1 (so a request carrying proxy headers is not local), and a web page whose
    name resolves to 127.0.0.1 (DNS rebinding) would reach it from the user's browser
    (so the Host must name the loopback too). With ``--auth-secret`` set, the access
    control of CONTRACT §8 decides: ``api.auth`` has already required the admin role of every
    ``/api/admin/`` request.
    """
    if app_state().authorizer.enabled:
        return
    if (
        not _is_loopback(request.remote_addr)
        or any(header in request.headers for header in PROXY_HEADERS)
        or _host_name() not in LOOPBACK_HOSTS
    ):
        raise Forbidden(
            "The admin answers only on the server's own host (or to the admin role)",
            details={"remote_addr": request.remote_addr},
        )


async def _write(room: Room, fn, *args: Any) -> None:
    room.transact(REST, fn, *args)
    await room.persisted()


# -- the track library ---------------------------------------------------------------


@admin.get("/tracks/")
@document_response(TrackArray)
@ADMIN_ONLY
async def list_tracks():
    """The track library, by id"""
    library = app_state().library
    return jsonify([track_json(t) for t in sorted(library.all(), key=lambda t: t.id)])


@admin.post("/tracks/")
@document_request(NewTrack)
@document_response(Track, 201)
@BAD_BODY
@ADMIN_ONLY
async def add_track():
    """Add a track to the library"""
    state = app_state()
    fields = forms.track_fields(await validation.json_object(), partial=False)
    track = await store.add_track(state.storage, fields)
    state.library.put(track)
    response = jsonify(track_json(track))
    response.status_code = 201
    return response


@admin.patch("/tracks/<int(signed=True):track_id>/")
@document_request(TrackPatch)
@document_response(Track)
@BAD_BODY
@UNKNOWN_TRACK
@ADMIN_ONLY
async def edit_track(track_id: int):
    """Edit a track

    Items of this track show the new fields at once. An unknown track is a 404 before the
    body is read.
    """
    state = app_state()
    if state.library.get(track_id) is None:
        raise NotFound("Track not found", details={"id": track_id})
    fields = forms.track_fields(await validation.json_object(), partial=True)
    track = await store.update_track(state.storage, track_id, fields)
    if track is None:
        raise NotFound("Track not found", details={"id": track_id})
    state.library.put(track)
    return jsonify(track_json(track))


@admin.delete("/tracks/<int(signed=True):track_id>/")
@document_response(NoContent, 204)
@UNKNOWN_TRACK
@ADMIN_ONLY
async def remove_track(track_id: int):
    """Remove a track from the library

    Items of this track stay in their playlists and show their own copy of it.
    """
    state = app_state()
    if track_id not in TRACK_IDS or not await store.delete_track(state.storage, track_id):
        raise NotFound("Track not found", details={"id": track_id})
    state.library.remove(track_id)
    return Response(status=204)


# -- playlists -------------------------------------------------------------------------


@admin.get("/playlists/")
@document_response(AdminPlaylistList)
@ADMIN_ONLY
async def list_playlists():
    """List the playlists, by name, with their items, peers online and stored size"""
    state = app_state()
    stored = {row.name: row for row in await state.storage.list_playlists()}
    result = []
    for name in sorted(set(stored) | set(state.rooms.rooms)):
        async with state.rooms.use(name) as room:
            if name not in stored and not room.playlist.items:
                continue
            result.append(
                {
                    "name": name,
                    "items": len(room.playlist.items),
                    "peers": len(room.peers),
                    "listeners": len(room.events.listeners),
                    "stored_bytes": await state.storage.stored_bytes(name),
                    "auto_sort_by_votes": room.playlist.auto_sort,
                    "created_at": iso(stored[name].created_at) if name in stored else None,
                    "updated_at": iso(stored[name].updated_at) if name in stored else None,
                }
            )
    return jsonify(result)


@admin.delete("/playlists/<name>/")
@document_response(NoContent, 204)
@document_response(PlaylistCleared)
@ADMIN_ONLY
async def delete_playlist(name: str):
    """Delete a playlist (emptied only, while clients are connected to it)

    Empty the playlist through its room (every client sees it go); then, if nobody is
    connected to it, drop it from storage (204). With clients connected it stays, empty
    (200 `{"status": "cleared"}`): dropping a document under its peers would let their
    next update come back without the history it builds on.
    """
    state = app_state()
    name = validation.playlist_name(name)
    async with state.rooms.use(name) as room:
        await _write(room, ops.clear)
        connected = len(room.peers) + len(room.events.listeners)
    if await state.rooms.unload(name, then=lambda: store.delete_playlist(state.storage, name)):
        return Response(status=204)
    return jsonify({"status": "cleared", "connected": connected})


def export_json(name: str, playlist: Playlist) -> dict[str, Any]:
    return {
        "version": forms.EXPORT_VERSION,
        "name": name,
        "exported_at": utc_now_iso(),
        "settings": {"auto_sort_by_votes": playlist.auto_sort},
        "now_playing": playlist.now_playing if playlist.playing else None,
        "items": [
            {
                "id": item.id,
                "track_id": item.track_id,
                "position": item.position,
                "votes": item.votes,
                "added_by": item.added_by,
                "added_at": item.added_at,
                "played_at": item.played_at,
            }
            for item in playlist.items
        ],
    }


@admin.get("/playlists/<name>/export/")
@document_response(PlaylistExport)
@ADMIN_ONLY
async def export_playlist(name: str):
    """Export a playlist as JSON

    Sent as an attachment (`Content-Disposition`) named after the playlist.
    """
    state = app_state()
    async with state.rooms.use(validation.playlist_name(name)) as room:
        response = jsonify(export_json(name, room.playlist))
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.json"'
    return response


def _replace_with(doc, imported: forms.ImportedPlaylist, writer_key: str, copies, now) -> None:
    ops.clear(doc)
    for item in imported.items:
        ops.add_item(
            doc,
            item_id=item.id,
            track_id=item.track_id,
            added_by=item.added_by,
            added_at=item.added_at or now,
            position=item.position,
            track=copies.get(item.track_id),
            played_at=item.played_at,
        )
        if item.votes:
            ops.vote(doc, item.id, writer_key, item.votes)
    if imported.now_playing is not None:
        playing = next(i for i in imported.items if i.id == imported.now_playing)
        ops.play(doc, playing.id, playing.played_at or now)
    if imported.auto_sort_by_votes is not None:
        ops.set_auto_sort(doc, imported.auto_sort_by_votes)


@admin.post("/playlists/<name>/import/")
@document_request(PlaylistImport)
@document_response(PlaylistExport)
@document_errors(
    400,
    ErrorCode.INVALID_JSON,
    ErrorCode.VALIDATION_ERROR,
    ErrorCode.TRACK_NOT_FOUND,
    description="Invalid export, or an item of a track not in the library "
    '(details `{"track_id": N}`)',
)
@ADMIN_ONLY
async def import_playlist(name: str):
    """Replace a playlist with an export

    The playlist's items, playback and settings become the export's; the answer is the
    playlist exported again.
    """
    state = app_state()
    name = validation.playlist_name(name)
    imported = forms.imported_playlist(await validation.json_object(), state.settings.max_items)
    copies = {}
    for item in imported.items:
        track = state.library.get(item.track_id)
        if track is None:
            raise ApiError(
                "Track not found",
                code=ErrorCode.TRACK_NOT_FOUND,
                details={"track_id": item.track_id},
            )
        copies[item.track_id] = track_copy(track)
    async with state.rooms.use(name) as room:
        await _write(room, _replace_with, imported, state.writer_key, copies, utc_now_iso())
        return jsonify(export_json(name, room.playlist))


# -- moderation ------------------------------------------------------------------------


def _existing(room: Room, item_id: str) -> None:
    if room.playlist.get(item_id) is None:
        raise NotFound("No such playlist item", details={"id": item_id})


@admin.delete("/playlists/<name>/items/<item_id>/")
@document_response(NoContent, 204)
@UNKNOWN_ITEM
@ADMIN_ONLY
async def remove_item(name: str, item_id: str):
    """Remove an item (stops playback if it was playing)"""
    async with app_state().rooms.use(validation.playlist_name(name)) as room:
        _existing(room, item_id)
        await _write(room, ops.remove_item, item_id)
    return Response(status=204)


@admin.post("/playlists/<name>/items/<item_id>/reset-votes/")
@document_response(VotesReset)
@UNKNOWN_ITEM
@ADMIN_ONLY
async def reset_votes(name: str, item_id: str):
    """Bring an item's votes to 0 (votes after it count from there)"""
    state = app_state()
    async with state.rooms.use(validation.playlist_name(name)) as room:
        _existing(room, item_id)
        await _write(room, ops.reset_votes, item_id, state.writer_key)
        item = room.playlist.get(item_id)
        return jsonify({"id": item_id, "votes": item.votes if item else 0})


@admin.post("/playlists/<name>/stop/")
@document_response(Status)
@ADMIN_ONLY
async def stop(name: str):
    """Stop playback: `{"status": "stopped"}`"""
    async with app_state().rooms.use(validation.playlist_name(name)) as room:
        await _write(room, ops.stop)
    return jsonify({"status": "stopped"})
