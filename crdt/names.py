"""The playlist-name rule, shared by every surface (REST, the event stream, ``/yjs/``)."""

from __future__ import annotations

import re

PLAYLIST_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""1-64 characters of ``A-Z a-z 0-9 _ -`` (CONTRACT §2)."""


def is_playlist_name(name: str) -> bool:
    return PLAYLIST_NAME.fullmatch(name) is not None
