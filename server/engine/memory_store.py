"""An in-memory :class:`~server.engine.storage.DocumentStore`, for fast room and compaction tests.

It keeps the same promises as the SQL store (a snapshot plus the log since, appends
numbered by version, compaction folding what is stored), with nothing on disk: it
is for tests of rooms, persistence and the sync protocol, never for serving (the
integration tests still run on a real SQLite file and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .storage import StorageError, StoredDocument, StoredUpdate, StoredVersion, fold


@dataclass
class _Stored:
    snapshot: bytes | None = None
    through: int = 0
    version: int = 0
    log: list[tuple[int, bytes]] = field(default_factory=list)
    seq: int = 0


class MemoryStore:
    """Versions per playlist, as the SQL store numbers them (gapless, in append order)."""

    def __init__(self) -> None:
        self._documents: dict[str, _Stored] = {}
        self._epochs = 0
        self.appends = 0
        self.compactions = 0
        self.failing = False
        """Set to make every call raise :class:`StorageError` (a database that is down)."""

    async def load(self, name: str) -> StoredDocument:
        self._check()
        stored = self._documents.get(name, _Stored())
        return StoredDocument(
            snapshot=stored.snapshot,
            updates=[data for _, data in stored.log],
            version=stored.version,
            seq=stored.seq,
        )

    async def append(self, name: str, data: bytes, seq: int) -> int:
        self._check()
        stored = self._documents.setdefault(name, _Stored())
        stored.version += 1
        stored.log.append((stored.version, data))
        stored.seq = max(stored.seq, seq)
        self.appends += 1
        return stored.version

    async def compact(self, name: str, through_version: int | None = None) -> int:
        self._check()
        stored = self._documents.setdefault(name, _Stored())
        through = stored.version if through_version is None else through_version
        folded = [data for v, data in stored.log if v <= through]
        parts = ([stored.snapshot] if stored.snapshot else []) + folded
        if folded:
            stored.snapshot, stored.through = fold(parts), max(stored.through, through)
            stored.log = [(v, data) for v, data in stored.log if v > through]
            self.compactions += 1
        return len(stored.snapshot or b"")

    async def versions(self, names: Iterable[str]) -> dict[str, StoredVersion]:
        self._check()
        return {
            name: StoredVersion(self._documents[name].version, self._documents[name].through)
            for name in names
            if name in self._documents
        }

    async def updates_after(self, after: dict[str, int]) -> list[StoredUpdate]:
        self._check()
        return [
            StoredUpdate(name, v, data)
            for name, version in after.items()
            for v, data in self._documents.get(name, _Stored()).log
            if v > version
        ]

    async def new_epoch(self) -> int:
        self._epochs += 1
        return self._epochs

    def stored_bytes(self, name: str) -> int:
        stored = self._documents.get(name, _Stored())
        return len(stored.snapshot or b"") + sum(len(data) for _, data in stored.log)

    def _check(self) -> None:
        if self.failing:
            raise StorageError("the in-memory store is set to fail")
