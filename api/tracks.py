"""The read-only track library: ``/api/tracks/`` with search, genre filter and ordering."""

from __future__ import annotations

from pydantic import Field
from quart import Blueprint, jsonify, request
from quart_schema import document_querystring, document_response, tag_blueprint

from server.surfaces.context import app_state

from .errors import ErrorCode, NotFound
from .models import Paging, Track, TrackList
from .openapi import PAGE_NOT_FOUND, document_errors
from .pagination import paginate
from .serializers import track_json

tracks = Blueprint("tracks", __name__)
tag_blueprint(tracks, ["Tracks"])

ORDERING_FIELDS = {"title", "artist", "album", "duration_seconds", "created_at", "genre"}
DEFAULT_ORDERING = ("artist", "title")


class TrackQuery(Paging):
    search: str = Field(description="Case-insensitive substring of title, artist or album")
    genre: str = Field(description="Exact genre")
    ordering: str = Field(
        description=f"A field of {', '.join(sorted(ORDERING_FIELDS))}, `-` before it for "
        f"descending; default {', '.join(DEFAULT_ORDERING)}. Like DRF, a comma-separated list "
        "also works and unknown fields are ignored.",
        examples=["-duration_seconds", "genre,title"],
    )


def _sort_key(field: str):
    def key(track):
        value = getattr(track, field)
        return value.casefold() if isinstance(value, str) else value

    return key


@tracks.get("/")
@document_querystring(TrackQuery)
@document_response(TrackList)
@PAGE_NOT_FOUND
async def list_tracks():
    """List the track library"""
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
@document_response(Track)
@document_errors(404, ErrorCode.NOT_FOUND, description="No track has this id")
async def get_track(track_id: int):
    """Get a track"""
    track = app_state().library.get(track_id)
    if track is None:
        raise NotFound("Track not found", details={"id": track_id})
    return jsonify(track_json(track))
