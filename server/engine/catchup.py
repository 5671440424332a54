"""Every process converges to every stored update (CONTRACT §7).

A room knows which of its playlist's stored versions it holds
(:class:`StoredVersions`): what it loaded, what it appended itself, what came
over the bus. Stored updates of other processes are applied in version order,
the order they were committed in: an update may build on an earlier one, and
pycrdt can lose an update that waits on a missing one for good (see
``sync.py``), so one that arrives early waits for the versions before it.

:class:`CatchUp` is the database path, with or without a bus: every
``interval`` seconds, one query asks where all loaded playlists stand, a
second fetches the rows the rooms lack; a room whose missing rows were folded
into a snapshot meanwhile reloads it (applying a snapshot again is harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Protocol

from .storage import DocumentStore, StorageError, StoredDocument, StoredUpdate

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.5
"""Seconds between two looks at the database: the contract's bound is 1 s."""


class StoredVersions:
    """The versions of one playlist a room holds, and the early ones waiting their turn."""

    def __init__(self, through: int = 0) -> None:
        self.through = through
        """Every version up to this one is applied."""
        self._own: set[int] = set()  # appended here, above ``through``
        self._waiting: dict[int, bytes] = {}  # others', above ``through + 1``

    def own(self, version: int) -> list[bytes]:
        """This process appended ``version``: its document has it already.

        Returns what to apply now, in order: another process's next version may have come
        over the bus before this process's own commit was recorded, and waited for it.
        """
        if version <= self.through:
            return []
        self._own.add(version)
        return self._advance()

    def offer(self, version: int, update: bytes) -> list[bytes]:
        """Another process stored ``update`` as ``version``: what to apply now, in order."""
        if version <= self.through or version in self._own:
            return []
        self._waiting[version] = update
        return self._advance()

    def reloaded(self, version: int) -> list[bytes]:
        """A full load through ``version`` was applied; returns what to apply now, in order."""
        self.through = max(self.through, version)
        return self._advance()

    def _advance(self) -> list[bytes]:
        ready = []
        while True:
            following = self.through + 1
            if following in self._own:
                self._own.discard(following)
            elif following in self._waiting:
                ready.append(self._waiting.pop(following))
            else:
                break
            self.through = following
        for version in [v for v in self._waiting if v <= self.through]:
            del self._waiting[version]
        self._own = {v for v in self._own if v > self.through}
        return ready


class CatchingUp(Protocol):
    """What the catch-up needs of a room."""

    name: str
    versions: StoredVersions

    def apply_stored(self, version: int, update: bytes) -> None: ...

    def apply_reload(self, stored: StoredDocument) -> None: ...


class CatchUp:
    """The periodic look at the database for the loaded rooms (one task per process)."""

    def __init__(
        self,
        store: DocumentStore,
        rooms: Callable[[], Mapping[str, CatchingUp]],
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self._store = store
        self._rooms = rooms
        self._interval = interval
        self._soon = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.runs = 0
        self.rows_applied = 0
        self.reloads = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="rooms:catch-up")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def soon(self) -> None:
        """Look now rather than at the next tick (the bus may have lost messages)."""
        self._soon.set()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._soon.wait(), self._interval)
            self._soon.clear()
            try:
                await self.run_once()
            except StorageError as exc:
                log.warning("catch-up failed (%s); retrying", exc)

    async def run_once(self) -> None:
        """One look: which loaded playlists moved on, then what they lack."""
        rooms = dict(self._rooms())
        if not rooms:
            return
        self.runs += 1
        stored = await self._store.versions(rooms)
        behind: dict[str, int] = {}
        reload: list[str] = []
        for name, room in rooms.items():
            where = stored.get(name)
            if where is None or where.version <= room.versions.through:
                continue
            if where.through_version > room.versions.through:
                reload.append(name)  # what it lacks is folded into the snapshot now
            else:
                behind[name] = room.versions.through
        rows: dict[str, list[StoredUpdate]] = defaultdict(list)
        for row in await self._store.updates_after(behind):
            rows[row.name].append(row)
        for name, after in behind.items():
            got = rows.get(name, [])
            if not got or got[0].version != after + 1:
                reload.append(name)  # compacted between the two queries
                continue
            room = rooms[name]
            for row in got:
                room.apply_stored(row.version, row.data)
            self.rows_applied += len(got)
        for name in reload:
            rooms[name].apply_reload(await self._store.load(name))
            self.reloads += 1
