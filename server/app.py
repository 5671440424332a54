"""The app factory: every dependency comes in as an argument, nothing at import time."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Sequence
from uuid import uuid4

from quart_cors import cors

from api import register_api
from api.serializers import event_json

from .asgi import PlaysyncApp
from .engine.auth import Authorizer, authorizer_for
from .engine.bus import LocalBus, UpdateBus
from .engine.extensions import ExtensionFactory, RoomExtension
from .engine.gate import GateLimits
from .engine.library import Library
from .engine.metrics import MeteredBus, MeteredStore, Metrics, RoomMetrics
from .engine.persistence import CompactionPolicy
from .engine.redis_bus import RedisBus
from .engine.rooms import RoomManager, RoomSettings
from .engine.storage import Storage
from .settings import Settings
from .surfaces.admin_page import admin_page
from .surfaces.admission import register_websocket_admission
from .surfaces.context import EXTENSION, AppState
from .surfaces.ops import install_ops
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
    if bus is None:
        bus = (
            RedisBus(settings.redis_url, prefix=settings.redis_prefix)
            if settings.redis_url
            else LocalBus()
        )
    app = PlaysyncApp(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # keep the field order of the legacy API
    # Every path answers with and without its trailing slash, without a redirect.
    app.url_map.strict_slashes = False
    install_ops(app)
    register_api(app)
    app.register_blueprint(stream)
    register_websocket_admission(app)  # origin and per-address checks of /ws/ handshakes
    app.register_blueprint(web)
    app.register_blueprint(admin_page)
    app = cors(app, allow_origin=list(settings.cors_origins))

    library = Library()
    metrics = Metrics()
    rooms = RoomManager(
        MeteredStore(storage, metrics),
        lambda change, seq: event_json(change, seq, library),
        bus=MeteredBus(bus, metrics),
        extensions=[*extensions, _shared(RoomMetrics(metrics))],
        settings=RoomSettings(
            idle_seconds=settings.idle_seconds,
            dormant_seconds=settings.dormant_seconds,
            batch_delay=settings.batch_delay,
            compaction=CompactionPolicy(settings.compact_updates, settings.compact_bytes),
            gate=GateLimits(max_items=settings.max_items) if settings.check_updates else None,
            catch_up_seconds=settings.catch_up_seconds,
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
        metrics=metrics,
    )
    metrics.watch_rooms(lambda: rooms.rooms)
    app.extensions[EXTENSION] = state

    @app.while_serving
    async def lifespan():
        before, after = await storage.create_schema()
        if before != after:
            log.info("database schema migrated from %s to revision %s", before or "empty", after)
        library.replace(await storage.load_tracks())
        # What startup made (modules, the app, the library) lives as long as the process:
        # frozen, a full collection no longer walks it. It took ~60 ms per pass, a pause of
        # the whole loop that every peer and request waited out; now ~10 ms. Collected
        # first, so that no garbage is frozen with it.
        gc.collect()
        gc.freeze()
        loop_lag = asyncio.create_task(metrics.watch_loop_lag(), name="metrics:loop-lag")
        async with bus, rooms:
            yield
            log.info("stopped serving; storing every room")
        log.info("every room stored")
        loop_lag.cancel()
        await storage.close()

    return app


def _shared(extension: RoomExtension) -> ExtensionFactory:
    """One extension instance for every room."""
    return lambda room: extension
