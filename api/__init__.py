"""The legacy REST API: routes, JSON shapes, errors and validation (CONTRACT §2)."""

from __future__ import annotations

from quart import Quart

from .errors import register_error_handlers
from .meta import meta
from .playlists import playlist
from .tracks import tracks


def register_api(app: Quart) -> None:
    register_error_handlers(app)
    app.register_blueprint(meta)
    app.register_blueprint(tracks, url_prefix="/api/tracks")
    # One blueprint, two mounts: the default playlist and any named one.
    app.register_blueprint(
        playlist, url_prefix="/api/playlist", url_defaults={"name": "default"}, name="default"
    )
    app.register_blueprint(playlist, url_prefix="/api/playlists/<name>", name="named")
