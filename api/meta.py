"""Service routes: health, the list of playlists, OpenAPI and its docs page."""

from __future__ import annotations

from quart import Blueprint, Response, current_app, jsonify
from quart_schema import document_querystring, document_response, tag_blueprint

from server.engine.storage import StorageError
from server.surfaces.context import app_state

from .errors import ErrorCode, error_response
from .models import Html, OpenApiDocument, Paging, PlaylistSummaryList, Status
from .openapi import PAGE_NOT_FOUND, docs_page, document_errors, openapi_spec
from .pagination import paginate
from .serializers import iso

meta = Blueprint("meta", __name__)
tag_blueprint(meta, ["Service"])


@meta.get("/health")
@document_response(Status)
@document_errors(503, ErrorCode.DATABASE_UNAVAILABLE, description="The database does not answer")
async def health():
    """Health check: 200 when the database answers"""
    try:
        await app_state().storage.ping()
    except StorageError as exc:
        return error_response(
            503,
            ErrorCode.DATABASE_UNAVAILABLE,
            "The database does not answer",
            {"reason": str(exc)},
        )
    return jsonify({"status": "ok"})


@meta.get("/api/playlists/")
@document_querystring(Paging)
@document_response(PlaylistSummaryList)
@PAGE_NOT_FOUND
async def list_playlists():
    """List the playlists, by name"""
    state = app_state()
    stored = {row.name: row for row in await state.storage.list_playlists()}
    names = sorted(set(stored) | set(state.rooms.rooms))
    items = [
        {
            "name": name,
            "created_at": iso(stored[name].created_at) if name in stored else None,
            "updated_at": iso(stored[name].updated_at) if name in stored else None,
        }
        for name in names
        if name in stored or state.rooms.rooms[name].playlist.items
    ]
    return jsonify(paginate(items))


@meta.get("/api/openapi.json")
@document_response(OpenApiDocument)
async def openapi():
    """This document"""
    return jsonify(openapi_spec(current_app._get_current_object()))


@meta.get("/api/docs/")
@document_response(Html)
async def docs():
    """A page that renders this document (self-contained: it loads nothing from elsewhere)"""
    return Response(docs_page(), content_type="text/html; charset=utf-8")
