"""The admin page at ``/admin/`` (CONTRACT §11): static HTML and JS over ``/api/admin/…``.

The page holds no data and no secret; the JSON API it calls decides who is admin
(``api/admin.py``). No build step: plain files from ``admin_static/``.
"""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response, send_from_directory
from quart_schema import hide

admin_page = Blueprint("admin_page", __name__)

STATIC = Path(__file__).resolve().parent / "admin_static"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: http: https:; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


async def _file(name: str, mimetype: str) -> Response:
    response = await send_from_directory(STATIC, name, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@admin_page.get("/admin/")
@hide  # the admin page, not the API (its API is /api/admin/): not in the OpenAPI document
async def page() -> Response:
    return await _file("index.html", "text/html")


@admin_page.get("/admin/admin.js")
@hide
async def script() -> Response:
    return await _file("admin.js", "text/javascript")


@admin_page.get("/admin/admin.css")
@hide
async def styles() -> Response:
    return await _file("admin.css", "text/css")
