"""REST access control (CONTRACT §8): a ``Bearer`` token on every ``/api/`` request.

One before-request hook decides for every route, so a new route is guarded
without doing anything: the playlist is the route's ``name`` (``default`` for
``/api/playlist/…``), the action is ``read`` for GET and HEAD, ``write`` for
every other method, ``admin`` under ``/api/admin/``. What is not in a playlist
(the track library, the list of playlists) is readable with any valid token.
Routes that need more than that rule say so with :func:`require`.

Open whatever the mode: the OpenAPI document and its docs page, CORS
preflights, and everything outside ``/api/`` (health, the web client, which
carries its token itself).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from quart import Quart, g, request

from server.engine.auth import Forbidden, Grant, Role, Unauthenticated
from server.surfaces.context import app_state

from .errors import ApiError, ErrorCode, error_response

PUBLIC_PATHS = frozenset({"/api/openapi.json", "/api/docs", "/api/docs/"})
# EventSource cannot set headers: the SSE stream also takes ``?token=`` (as the WebSockets do).
QUERY_TOKEN_ENDPOINTS = frozenset({"stream.events_sse"})
READ_METHODS = frozenset({"GET", "HEAD"})
ADMIN_PATH = "/api/admin"


class Unauthorized(ApiError):
    status = 401
    code = ErrorCode.UNAUTHORIZED


class AccessDenied(ApiError):
    status = 403
    code = ErrorCode.FORBIDDEN


def bearer_token() -> str | None:
    """The token of ``Authorization: Bearer T`` (or ``?token=`` where headers cannot be set)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if request.endpoint in QUERY_TOKEN_ENDPOINTS:
        return request.args.get("token") or None
    return None


def current_grant() -> Grant:
    """The grant of this request's token (checked once, then kept on ``g``)."""
    grant = g.get("grant")
    if grant is None:
        try:
            grant = app_state().authorizer.grant(bearer_token())
        except Unauthenticated as exc:
            raise Unauthorized(str(exc)) from None
        g.grant = grant
    return grant


def _check(action: Role, playlist: str | None) -> Grant:
    try:
        return current_grant().require(action, playlist)
    except Forbidden as exc:
        raise AccessDenied(str(exc), details={"role": action.label, "playlist": playlist}) from None


def route_action() -> Role:
    if request.path == ADMIN_PATH or request.path.startswith(ADMIN_PATH + "/"):
        return Role.ADMIN
    return Role.READ if request.method in READ_METHODS else Role.WRITE


def route_playlist() -> str | None:
    name = (request.view_args or {}).get("name")
    return name if isinstance(name, str) else None


async def check_access() -> None:
    """The before-request hook: 401 without a valid token, 403 without a fitting one."""
    if not app_state().authorizer.enabled:
        return
    path = request.path
    if request.method == "OPTIONS" or not path.startswith("/api/") or path in PUBLIC_PATHS:
        return
    _check(route_action(), route_playlist())


def require(role: Role | str, playlist: Callable[..., str | None] | None = None):
    """A route decorator: the request's token must allow ``role``.

    On the route's playlist (its ``name`` argument; a route without one is
    not in one playlist, which takes a ``*`` token to change), or on what
    ``playlist(**route_kwargs)`` returns::

        @admin.delete("/playlists/<name>/")
        @require("admin")  # admin on this playlist, or on '*'
        async def delete_playlist(name): ...

        @admin.post("/tracks/")
        @require("admin")  # the library: admin on '*'
        async def add_track(): ...

    The before-request hook already requires ``admin`` under ``/api/admin/``;
    the decorator is for routes elsewhere, or to say so where it is read.

    With auth off it lets everything through, as the rest of the API does.
    """
    action = role if isinstance(role, Role) else Role.named(role)

    def decorate(view: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @wraps(view)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            if app_state().authorizer.enabled:
                target = playlist(**kwargs) if playlist else kwargs.get("name")
                _check(action, target)
            return await view(*args, **kwargs)

        return guarded

    return decorate


def default_added_by() -> str | None:
    """Who a new item is added by when the body does not say: the token's ``sub``."""
    return current_grant().subject if app_state().authorizer.enabled else None


# -- the OpenAPI document ------------------------------------------------------------------

BEARER_SCHEME = "bearerAuth"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _refusal(status: int, code: str, message: str, schemas: dict[str, Any]) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Error"} if "Error" in schemas else {"type": "object"}
    example = {"error": {"code": code, "message": message, "details": {}}}
    return {
        "description": f"{message} (`{code}`; only with --auth-secret)",
        "content": {"application/json": {"schema": schema, "example": example}},
    }


def _also_code(response: dict[str, Any], code: str, message: str) -> None:
    """Add ``code`` to a documented error answer of the same status (another cause of it)."""
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    for part in schema.get("allOf", ()):
        enum = part.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
        if "enum" in enum and code not in enum["enum"]:
            enum["enum"].append(code)
            response["description"] += f"; {message.lower()} (`{code}`; only with --auth-secret)"


def document_security(spec: dict[str, Any]) -> dict[str, Any]:
    """Declare the bearer scheme of CONTRACT §8 in an OpenAPI document built elsewhere.

    Kept apart from the document's builder: it follows this module's rules (what
    is public, what takes ``?token=``), so the two cannot drift. Security is
    optional in the document (``{}``) because a server without a secret needs none.
    """
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    spec["components"].setdefault("securitySchemes", {})[BEARER_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A token of `playsync token` (HS256; claims sub, exp, playlist, role), "
        "required when the server runs with --auth-secret. GET needs role read on the "
        "playlist, other methods write, /api/admin/ admin; `*` is every playlist.",
    }
    spec["security"] = [{BEARER_SCHEME: []}, {}]
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            if not path.startswith("/api/") or path in PUBLIC_PATHS:
                operation["security"] = []
                continue
            responses = operation.setdefault("responses", {})
            for status, code, message in (
                ("401", ErrorCode.UNAUTHORIZED, "No valid token"),
                ("403", ErrorCode.FORBIDDEN, "The token does not allow this"),
            ):
                if status in responses:
                    _also_code(responses[status], code, message)
                else:
                    responses[status] = _refusal(int(status), code, message, schemas)
            if path.endswith("/stream"):
                operation.setdefault("parameters", []).append(
                    {
                        "name": "token",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "The token, for EventSource clients that cannot "
                        "set headers (instead of Authorization: Bearer).",
                    }
                )
    return spec


def register_auth(app: Quart) -> None:
    app.before_request(check_access)

    @app.errorhandler(Unauthorized)
    async def _unauthorized(exc: Unauthorized):
        response = error_response(exc.status, exc.code, exc.message, exc.details)
        response.headers["WWW-Authenticate"] = 'Bearer realm="playsync"'
        return response
