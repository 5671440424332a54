"""One error vocabulary: ``{"error": {"code", "message", "details"}}`` (CONTRACT §2).

Handlers raise :class:`ApiError` (or let a domain error through); the
handlers registered here turn every exception into that JSON shape. A client
mistake is always a 4xx; a 500 means a bug, and is logged with its traceback.
"""

from __future__ import annotations

import logging
import math
from enum import StrEnum
from typing import Any

from quart import Quart, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from crdt.operations import ItemNotFound
from server.engine.storage import StorageError

log = logging.getLogger(__name__)


# The code raises these and the OpenAPI document lists them. A new code is a new member
# here, then a `document_errors(...)` line on each route that can answer with it.
class ErrorCode(StrEnum):
    """What went wrong, in one word: ``error.code`` of every error response."""

    BAD_REQUEST = "BAD_REQUEST"
    INVALID_JSON = "INVALID_JSON"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    MISSING_TRACK_ID = "MISSING_TRACK_ID"
    TRACK_NOT_FOUND = "TRACK_NOT_FOUND"
    DUPLICATE_TRACK = "DUPLICATE_TRACK"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    HTTP_ERROR = "HTTP_ERROR"
    STORAGE_UNAVAILABLE = "STORAGE_UNAVAILABLE"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    PLAYLIST_FULL = "PLAYLIST_FULL"
    RATE_LIMITED = "RATE_LIMITED"
    FORBIDDEN_ORIGIN = "FORBIDDEN_ORIGIN"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_READY = "NOT_READY"


class ApiError(Exception):
    status = 400
    code = ErrorCode.BAD_REQUEST

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}


class ValidationError(ApiError):
    code = ErrorCode.VALIDATION_ERROR


class NotFound(ApiError):
    status = 404
    code = ErrorCode.NOT_FOUND


def _json_safe(value: Any) -> Any:
    """Details echo client input: NaN/Infinity are not JSON, so they go back as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def error_response(
    status: int, code: ErrorCode, message: str, details: dict[str, Any] | None = None
):
    details = _json_safe(details or {})
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    return response


BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Codes for the HTTP errors Quart/werkzeug raise before a handler runs.
_HTTP_CODES = {
    400: ErrorCode.BAD_REQUEST,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
}


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(ApiError)
    async def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(ItemNotFound)
    async def _item_not_found(exc: ItemNotFound):
        return error_response(
            404, ErrorCode.NOT_FOUND, "No such playlist item", {"id": exc.item_id}
        )

    @app.errorhandler(StorageError)
    async def _storage_error(exc: StorageError):
        log.error("storage unavailable: %s", exc)
        return error_response(
            503, ErrorCode.STORAGE_UNAVAILABLE, "The change could not be stored; try again"
        )

    @app.errorhandler(HTTPException)
    async def _http_error(exc: HTTPException):
        if exc.code != 413 and request.method in BODY_METHODS:
            # Routing errors (404, 405) come before any before-request hook has read the
            # body: read it now, or hypercorn drops the keep-alive connection (api.__init__).
            try:
                await request.get_data(cache=True)
            except HTTPException as too_large:  # a body over the limit: say that instead
                exc = too_large
        if exc.code == 404:
            exc = _method_not_allowed_with_slash() or exc
        status = exc.code or 500
        code = _HTTP_CODES.get(status, ErrorCode.HTTP_ERROR)
        message = exc.description or exc.name
        if status == 413:
            message = "Request body too large"
        response = error_response(status, code, message)
        # werkzeug's own headers: a 405 says which methods the path allows (RFC 9110 `Allow`).
        for key, value in exc.get_headers():
            if key.lower() != "content-type":
                response.headers[key] = value
        return response

    @app.errorhandler(Exception)
    async def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, ErrorCode.INTERNAL_ERROR, "Internal server error")


def _method_not_allowed_with_slash() -> MethodNotAllowed | None:
    """A wrong method on a path written without its trailing slash is a 405, not a 404.

    werkzeug's slash-less fallback match does not report the allowed methods.
    """
    if request.path.endswith("/"):
        return None
    adapter = current_app.create_url_adapter(request)
    if adapter is None:
        return None
    try:
        adapter.match(request.path + "/", method=request.method)
    except MethodNotAllowed as exc:
        return exc
    except HTTPException:
        return None
    return None
