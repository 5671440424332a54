"""What every REST write passes before its handler: a browser origin we allow, then the rate limit.

Registered after the body is read (``read_whole_body``) and after access control, so a
refusal leaves the connection reusable and the rate limit can key on the token's ``sub``.
"""

from __future__ import annotations

import math

from quart import Quart, current_app, g, request

from server.surfaces.browser_origin import MESSAGE, is_allowed_origin
from server.surfaces.context import app_state
from server.surfaces.throttle import RateLimiter, parse_rate

from .errors import ErrorCode, error_response

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LIMITER = "playsync.rate_limiter"


async def refuse_foreign_origin():
    """403 FORBIDDEN_ORIGIN for a write from a browser page elsewhere (CONTRACT §8)."""
    if request.method not in WRITE_METHODS:
        return None
    origin = request.headers.get("Origin")
    allowed = app_state().settings.cors_origins
    if is_allowed_origin(origin, host=request.headers.get("Host"), allowed=allowed):
        return None
    return error_response(403, ErrorCode.FORBIDDEN_ORIGIN, MESSAGE, {"origin": origin})


def _limiter() -> RateLimiter | None:
    if _LIMITER not in current_app.extensions:
        text = app_state().settings.rate_limit
        rate = parse_rate(text) if text else 0.0
        current_app.extensions[_LIMITER] = RateLimiter(rate) if rate > 0 else None  # 0/s: off
    return current_app.extensions[_LIMITER]


def client_key() -> str:
    """Who a write counts against: the token's ``sub`` when auth checked one, else the address."""
    subject = getattr(g.get("grant"), "subject", None)
    return f"sub:{subject}" if subject else f"addr:{request.remote_addr}"


async def limit_write_rate():
    """429 RATE_LIMITED with Retry-After past ``--rate-limit N/s`` writes of one client."""
    if request.method not in WRITE_METHODS:
        return None
    limiter = _limiter()
    if limiter is None:
        return None
    wait = limiter.take(client_key())
    if wait <= 0:
        return None
    retry_after = max(1, math.ceil(wait))
    response = error_response(
        429,
        ErrorCode.RATE_LIMITED,
        "Too many writes; try again later",
        {"retry_after": retry_after, "rate_limit": app_state().settings.rate_limit},
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


def register_write_guards(app: Quart) -> None:
    app.before_request(refuse_foreign_origin)
    app.before_request(limit_write_rate)
