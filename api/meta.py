"""Service routes: health, the list of playlists, OpenAPI and its docs page."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify

from server.engine.auth import Role
from server.engine.storage import StorageError
from server.surfaces.context import app_state

from .auth import current_grant
from .errors import error_response
from .openapi import docs_page, openapi_spec
from .pagination import paginate
from .serializers import iso

meta = Blueprint("meta", __name__)


@meta.get("/health")
async def health():
    try:
        await app_state().storage.ping()
    except StorageError as exc:
        return error_response(
            503, "DATABASE_UNAVAILABLE", "The database does not answer", {"reason": str(exc)}
        )
    return jsonify({"status": "ok"})


@meta.get("/api/playlists/")
async def list_playlists():
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
        if (name in stored or state.rooms.rooms[name].playlist.items)
        and (not state.authorizer.enabled or current_grant().can(Role.READ, name))
    ]
    return jsonify(paginate(items))


@meta.get("/api/openapi.json")
async def openapi():
    return jsonify(openapi_spec())


@meta.get("/api/docs/")
async def docs():
    return Response(docs_page(), content_type="text/html; charset=utf-8")
