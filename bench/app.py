"""The real playsync app plus one trivial route: the framework's own ceiling.

``/bench/noop`` runs in the same process, the same Quart app (CORS wrapper, error
handlers, hypercorn config) as the API, so the ratio of a real route to it measures
what playsync itself costs. The production app is built unchanged by
``server.app.create_app``; only this module adds the route.
"""

from __future__ import annotations

from quart import jsonify, request

from server.app import create_app
from server.engine.storage import Storage
from server.settings import Settings

NOOP_PATH = "/bench/noop"


def create_bench_app(settings: Settings, *, storage: Storage | None = None):
    app = create_app(settings, storage=storage)

    @app.route(NOOP_PATH, methods=["GET", "POST"])
    async def noop():
        if request.method == "POST":
            await request.get_data()  # read the body, as a write route does
        return jsonify({"ok": True})

    return app
