"""The legacy REST API: routes, JSON shapes, errors and validation (CONTRACT §2)."""

from __future__ import annotations

from quart import Quart, request

from .admin import admin
from .auth import register_auth
from .errors import BODY_METHODS, register_error_handlers
from .meta import meta
from .playlists import playlist
from .tracks import tracks
from .write_guards import register_write_guards


async def read_whole_body() -> None:
    """Read a request's body before anything answers it.

    A handler may answer before reading the body (an unknown item is a 404 before the
    body is looked at). hypercorn then drops the keep-alive connection without saying
    so, and a client that reuses it fails its next request.
    """
    if request.method in BODY_METHODS:
        await request.get_data(cache=True)


def register_api(app: Quart) -> None:
    register_error_handlers(app)
    app.before_request(read_whole_body)
    register_auth(app)  # after the body is read: see read_whole_body
    app.register_blueprint(meta)
    app.register_blueprint(tracks, url_prefix="/api/tracks")
    app.register_blueprint(admin, url_prefix="/api/admin")
    # One blueprint, two mounts: the default playlist and any named one.
    app.register_blueprint(
        playlist, url_prefix="/api/playlist", url_defaults={"name": "default"}, name="default"
    )
    app.register_blueprint(playlist, url_prefix="/api/playlists/<name>", name="named")
    register_write_guards(app)  # last of the before_request hooks: after the body, after auth
