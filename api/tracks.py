"""The read-only track library: ``/api/tracks/`` with search, genre filter and ordering."""

from __future__ import annotations

from quart import Blueprint, jsonify, request

from server.surfaces.context import app_state

from .errors import NotFound
from .pagination import paginate
from .serializers import track_json

tracks = Blueprint("tracks", __name__)

ORDERING_FIELDS = {"title", "artist", "album", "duration_seconds", "created_at", "genre"}
DEFAULT_ORDERING = ("artist", "title")


def _sort_key(field: str):
    def key(track):
        value = getattr(track, field)
        return value.casefold() if isinstance(value, str) else value

    return key


@tracks.get("/")
async def list_tracks():
    state = app_state()
    result = state.library.all()
    search = request.args.get("search", "").strip().casefold()
    if search:
        result = [
            t
            for t in result
            if search in t.title.casefold()
            or search in t.artist.casefold()
            or search in t.album.casefold()
        ]
    genre = request.args.get("genre")
    if genre:
        result = [t for t in result if t.genre == genre]
    # Like DRF's OrderingFilter: unknown fields are ignored and the default applies.
    fields = [
        f.strip()
        for f in request.args.get("ordering", "").split(",")
        if f.strip().lstrip("-") in ORDERING_FIELDS
    ] or list(DEFAULT_ORDERING)
    result.sort(key=lambda t: t.id)
    for field in reversed(fields):
        result.sort(key=_sort_key(field.lstrip("-")), reverse=field.startswith("-"))
    items = [track_json(t) for t in result]
    return jsonify(paginate(items))


@tracks.get("/<int(signed=True):track_id>/")
async def get_track(track_id: int):
    track = app_state().library.get(track_id)
    if track is None:
        raise NotFound("Track not found", details={"id": track_id})
    return jsonify(track_json(track))
