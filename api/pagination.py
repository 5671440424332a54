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

from .errors import NotFound, ValidationError

MAX_PAGE_SIZE = 1000


def _positive_int(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be a positive integer", details={name: raw}) from None
    if value < 1:
        raise ValidationError(f"{name} must be a positive integer", details={name: raw})
    return value


def paginate(items: list[Any], *, always: bool, default_size: int) -> Any:
    if not always and "page" not in request.args and "page_size" not in request.args:
        return items
    size = min(_positive_int("page_size", default_size), MAX_PAGE_SIZE)
    page = _positive_int("page", 1)
    pages = max(1, math.ceil(len(items) / size))
    if page > pages:
        raise NotFound("Invalid page", details={"page": page, "pages": pages})
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
