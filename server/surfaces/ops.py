"""Operations surface (CONTRACT §10): ``/ready``, ``/metrics``, and a line and a count per request.

``/health`` (api/meta.py) says the process answers; ``/ready`` says it can serve: the
database answers and, when one is configured, so does Redis; otherwise 503 with the
reason of each failure, so a load balancer takes the process out of rotation and an
operator sees why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import cast

from quart import Blueprint, Quart, Response, g, jsonify, request
from quart_schema import document_response, tag_blueprint

from api.errors import ErrorCode
from api.models import PrometheusText, Readiness
from api.openapi import document_errors
from server.engine.metrics import CONTENT_TYPE
from server.engine.storage import StorageError

from .context import AppState, app_state
from .websocket import WS_1001_GOING_AWAY, Receive, Send, WebSocketConnection

try:  # imported here, not during a check: a first import can take longer than the check
    from redis.asyncio import Redis
except ImportError:  # only a server with --redis-url needs it
    Redis = None  # type: ignore[assignment,misc]

log = logging.getLogger("playsync.request")

ops = Blueprint("ops", __name__)
tag_blueprint(ops, ["Service"])

SHUTDOWN_READ_SECONDS = 2.0
"""At shutdown, a closed peer's frames already received are applied for at most this long
(hypercorn then waits for connections up to its graceful timeout, then rooms are stored)."""
CHECK_TIMEOUT = 2.0
"""A dependency that does not answer within this is not ready."""


@ops.get("/ready")
@document_response(Readiness)
@document_errors(503, ErrorCode.NOT_READY, description="The database or Redis does not answer")
async def ready():
    """Ready: the database and, when configured, Redis answer (CONTRACT §10)"""
    state = app_state()
    reasons: dict[str, str] = {}
    try:
        await asyncio.wait_for(state.storage.ping(), CHECK_TIMEOUT)
    except (StorageError, TimeoutError) as exc:
        reasons["database"] = str(exc) or "no answer"
    redis_url = getattr(state.settings, "redis_url", None)
    if redis_url:
        problem = await _ping_redis(redis_url)
        if problem:
            reasons["redis"] = problem
    if reasons:
        body = {
            "error": {
                "code": ErrorCode.NOT_READY,
                "message": "; ".join(f"{what}: {why}" for what, why in reasons.items()),
                "details": reasons,
            }
        }
        return jsonify(body), 503
    return jsonify({"status": "ready", "checks": {"database": "ok"} | _redis_ok(redis_url)})


def _redis_ok(redis_url: str | None) -> dict[str, str]:
    return {"redis": "ok"} if redis_url else {}


async def _ping_redis(url: str) -> str | None:
    """None when Redis answers a PING, else why not."""
    if Redis is None:
        return "the redis package is not installed"
    client = Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT)
    try:
        await asyncio.wait_for(client.ping(), CHECK_TIMEOUT)
    except Exception as exc:  # any failure means not ready; the reason goes to the caller
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    finally:
        await client.aclose()
    return None


# -- shutdown ------------------------------------------------------------------------------


def begin_shutdown(state: AppState) -> None:
    """SIGTERM: take no new WebSocket, and close every open one.

    Yjs peers get 1001 (going away; y-websocket reconnects) at once, without what was
    queued for them (they resync on reconnect), so they stop sending; the frames already
    received from them are still applied. Event streams get 1000 (the original frontend reconnects
    only after 1000), SSE streams end. The rooms are flushed afterwards, when the server
    has stopped (the app's lifespan), so what those last frames changed is stored too.
    """
    state.draining = True
    for room in list(state.rooms.rooms.values()):
        for peer in list(room.peers.values()):
            cast(WebSocketConnection, peer).close(
                WS_1001_GOING_AWAY,
                "server shutting down",
                drop_queued=True,
                read_for=SHUTDOWN_READ_SECONDS,
            )
        for listener in list(room.events.listeners):
            listener.close()


async def refuse_websocket(receive: Receive, send: Send) -> None:
    """Answer a WebSocket handshake that arrives during shutdown with HTTP 503."""
    if (await receive())["type"] != "websocket.connect":
        return
    body = b"server shutting down"
    await send(
        {
            "type": "websocket.http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "websocket.http.response.body", "body": body})


@ops.get("/metrics")
@document_response(PrometheusText)
async def metrics():
    """The server's metrics, in the Prometheus text format (CONTRACT §10)"""
    return Response(app_state().metrics.render(), content_type=CONTENT_TYPE)


# -- every request: one log line, one count, one duration -------------------------------------


async def _started() -> None:
    g.ops_started = time.perf_counter()


async def _finished(response: Response) -> Response:
    started = getattr(g, "ops_started", None)
    if started is None:
        return response
    seconds = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    state = app_state()
    state.metrics.requests.labels(request.method, route, str(response.status_code)).inc()
    state.metrics.request_seconds.labels(request.method, route).observe(seconds)
    # The path without its query string: a token may ride in ``?token=``.
    context = {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round(seconds * 1000, 1),
    }
    playlist = (request.view_args or {}).get("name")
    if playlist is not None:
        context["playlist"] = playlist
    log.info(
        "%s %s %d %.1fms",
        request.method,
        request.path,
        response.status_code,
        seconds * 1000,
        extra=context,
    )
    return response


def install_ops(app: Quart) -> None:
    """Register the routes and the per-request hooks."""
    app.register_blueprint(ops)
    app.before_request(_started)
    app.after_request(_finished)
