"""The track library: read-only, stored in SQL, held in memory while serving.

It is small (the seed has 35 tracks) and never changes while the server runs,
so every projection can render full track objects without a query.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

from .storage import TrackRow


def seed_tracks() -> list[dict[str, Any]]:
    """The seed library shipped with the package (a copy of shared/seed_tracks.json)."""
    text = resources.files("server.engine").joinpath("seed_tracks.json").read_text("utf-8")
    return json.loads(text)


class Library:
    def __init__(self, tracks: Iterable[TrackRow] = ()) -> None:
        self.replace(tracks)

    def replace(self, tracks: Iterable[TrackRow]) -> None:
        """Swap in the stored library (at startup, once the database is reachable)."""
        self._tracks = {track.id: track for track in tracks}

    def get(self, track_id: int) -> TrackRow | None:
        return self._tracks.get(track_id)

    def all(self) -> list[TrackRow]:
        return list(self._tracks.values())

    def __len__(self) -> int:
        return len(self._tracks)
