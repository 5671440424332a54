"""The app factory: every dependency comes in as an argument, nothing at import time."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from uuid import uuid4

from quart_cors import cors

from api import register_api
from api.serializers import event_json

from .asgi import PlaysyncApp
from .engine.auth import Authorizer, authorizer_for
from .engine.bus import LocalBus, UpdateBus
from .engine.extensions import ExtensionFactory
from .engine.library import Library
from .engine.persistence import CompactionPolicy
from .engine.rooms import RoomManager, RoomSettings
from .engine.storage import Storage
from .settings import Settings
from .surfaces.admin_page import admin_page
from .surfaces.admission import register_websocket_admission
from .surfaces.context import EXTENSION, AppState
from .surfaces.stream import stream
from .surfaces.web import web

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    storage: Storage | None = None,
    bus: UpdateBus | None = None,
    extensions: Sequence[ExtensionFactory] = (),
    authorizer: Authorizer | None = None,
) -> PlaysyncApp:
    """The whole server as an ASGI app; nothing starts until it is served.

    ``storage``: the database (tracks and documents); ``bus``: how this process's rooms reach
    other processes' (in-process by default); ``extensions``: more consumers of every room's
    changes (:mod:`server.engine.extensions`), run after storage, relay, bus and events;
    ``authorizer``: who may do what (:mod:`server.engine.auth`; from ``auth_secret`` by default).
    """
    settings = settings or Settings()
    storage = storage or Storage(settings.database_url)
    bus = bus or LocalBus()
    app = PlaysyncApp(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # keep the field order of the legacy API
    # Every path answers with and without its trailing slash, without a redirect.
    app.url_map.strict_slashes = False
    register_api(app)
    app.register_blueprint(stream)
    register_websocket_admission(app)  # origin and per-address checks of /ws/ handshakes
    app.register_blueprint(web)
    app.register_blueprint(admin_page)
    app = cors(app, allow_origin=list(settings.cors_origins))

    library = Library()
    rooms = RoomManager(
        storage,
        lambda change, seq: event_json(change, seq, library),
        bus=bus,
        extensions=extensions,
        settings=RoomSettings(
            idle_seconds=settings.idle_seconds,
            batch_delay=settings.batch_delay,
            compaction=CompactionPolicy(settings.compact_updates, settings.compact_bytes),
            auto_sort_default=settings.auto_sort_by_votes,
        ),
    )
    state = AppState(
        settings=settings,
        storage=storage,
        library=library,
        rooms=rooms,
        writer_key=f"server:{uuid4()}",
        authorizer=authorizer or authorizer_for(settings.auth_secret),
    )
    app.extensions[EXTENSION] = state

    @app.while_serving
    async def lifespan():
        await storage.create_schema()
        library.replace(await storage.load_tracks())
        async with bus, rooms:
            yield
        await storage.close()

    return app
