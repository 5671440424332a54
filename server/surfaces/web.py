"""The web client (examples/web) at ``/``: its built ``index.html`` and ``/assets/*``.

Files come from ``Settings.web_root`` (env ``PLAYSYNC_WEB_ROOT``; by default the repository's
``examples/web/dist``). When that directory holds no build, ``/`` says how to make one.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from quart import Blueprint, Response, send_file, send_from_directory
from quart_schema import hide

from .context import app_state

web = Blueprint("web", __name__)

# Everything the client loads comes from this server; no CDN, nothing downloaded at run time.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: http: https:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>playsync: web client not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto">
<h1>playsync</h1>
<p>The server is running, but the web client has not been built:
no <code>index.html</code> in <code>{root}</code>.</p>
<p>Build it with <code>make install</code> (or <code>cd examples/web &amp;&amp; npm ci &amp;&amp;
npm run build</code>), or point <code>PLAYSYNC_WEB_ROOT</code> at a build, then reload.</p>
<p>The REST API is at <a href="/api/docs/">/api/docs/</a>.</p>
</body></html>
"""


def _root() -> Path:
    return Path(app_state().settings.web_root)


def _revalidate(response: Response) -> Response:
    # Asset names carry no content hash: let the browser cache them but ask every time.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@web.get("/")
@hide  # the web client, not the API: not in the OpenAPI document
async def index() -> Response:
    page = _root() / "index.html"
    if not page.is_file():
        return Response(NOT_BUILT.format(root=escape(str(_root()))), mimetype="text/html")
    return _revalidate(await send_file(page, mimetype="text/html", conditional=True))


@web.get("/assets/<path:filename>")
@hide
async def asset(filename: str) -> Response:
    return _revalidate(await send_from_directory(_root() / "assets", filename))
