"""The track library: stored in SQL, held in memory while serving.

It is small (the seed has 35 tracks) and changes only through the admin (CONTRACT
§11), which writes SQL first and then this copy, so every projection can render
full track objects without a query. ``version`` changes with every edit, for caches
of rendered items.
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
        self.version = 0
        self.replace(tracks)

    def replace(self, tracks: Iterable[TrackRow]) -> None:
        """Swap in the stored library (at startup, once the database is reachable)."""
        self._tracks = {track.id: track for track in tracks}
        self.version += 1

    def put(self, track: TrackRow) -> None:
        """A track added or edited (already committed to SQL)."""
        self._tracks[track.id] = track
        self.version += 1

    def remove(self, track_id: int) -> None:
        self._tracks.pop(track_id, None)
        self.version += 1

    def get(self, track_id: int) -> TrackRow | None:
        return self._tracks.get(track_id)

    def all(self) -> list[TrackRow]:
        return list(self._tracks.values())

    def __len__(self) -> int:
        return len(self._tracks)
