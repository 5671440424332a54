"""DRF-style pagination: plain lists unless asked for (CONTRACT §2).

A list is a JSON array, as the seed README documents, unless the query has
``page`` or ``page_size`` or the server runs with ``--paginate`` (for the
original frontend, which reads ``results`` from every list).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from quart import request

from server.surfaces.context import app_state

from .errors import NotFound

MAX_PAGE_SIZE = 1000


def _page_size(default: int) -> int:
    """``?page_size=``; like DRF, anything but a positive integer means the default."""
    try:
        size = int(request.args.get("page_size", ""))
    except ValueError:
        return default
    return min(size, MAX_PAGE_SIZE) if size > 0 else default


def _page_number(pages: int) -> int:
    """``?page=``: 1..pages or ``last``; like DRF, anything else is a 404."""
    raw = request.args.get("page") or "1"
    if raw == "last":
        return pages
    try:
        page = int(raw)
    except ValueError:
        page = 0
    if not 1 <= page <= pages:
        raise NotFound("Invalid page", details={"page": raw, "pages": pages})
    return page


def paginates() -> bool:
    """Whether this request's list comes as a page (``--paginate``, or asked for)."""
    return app_state().settings.paginate or "page" in request.args or "page_size" in request.args


def paginate(items: list[Any]) -> Any:
    """``items`` as they are, or the page of them the request asks for."""
    if not paginates():
        return items
    size = _page_size(app_state().settings.page_size)
    pages = max(1, math.ceil(len(items) / size))
    page = _page_number(pages)
    start = (page - 1) * size
    return {
        "count": len(items),
        "next": _page_url(page + 1) if page < pages else None,
        "previous": _page_url(page - 1) if page > 1 else None,
        "results": items[start : start + size],
    }


def _page_url(page: int) -> str:
    args = request.args.to_dict()
    if page == 1:
        args.pop("page", None)  # DRF links the first page without ?page=
    else:
        args["page"] = str(page)
    base = f"{request.scheme}://{request.host}{request.path}"
    return f"{base}?{urlencode(args)}" if args else base
