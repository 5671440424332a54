"""An in-memory :class:`~server.engine.storage.DocumentStore`, for fast room and compaction tests.

It keeps the same promises as the SQL store (a snapshot plus the log since, appends
numbered and never reused, compaction replacing both atomically), with nothing on disk: it
is for tests of rooms, persistence and the sync protocol, never for serving (the
integration tests still run on a real SQLite file and PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .storage import StorageError, StoredDocument


@dataclass
class _Stored:
    snapshot: bytes | None = None
    through: int = 0
    log: list[tuple[int, bytes]] = field(default_factory=list)
    seq: int = 0


class MemoryStore:
    def __init__(self) -> None:
        self._documents: dict[str, _Stored] = {}
        self._last_id = 0
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
            last_update_id=max([stored.through, *(i for i, _ in stored.log)]),
            seq=stored.seq,
        )

    async def append(self, name: str, data: bytes, seq: int) -> int:
        self._check()
        self._last_id += 1
        stored = self._documents.setdefault(name, _Stored())
        stored.log.append((self._last_id, data))
        stored.seq = seq
        self.appends += 1
        return self._last_id

    async def compact(self, name: str, snapshot: bytes, through_update_id: int) -> None:
        self._check()
        stored = self._documents.setdefault(name, _Stored())
        stored.snapshot, stored.through = snapshot, through_update_id
        stored.log = [(i, data) for i, data in stored.log if i > through_update_id]
        self.compactions += 1

    def stored_bytes(self, name: str) -> int:
        stored = self._documents.get(name, _Stored())
        return len(stored.snapshot or b"") + sum(len(data) for _, data in stored.log)

    def _check(self) -> None:
        if self.failing:
            raise StorageError("the in-memory store is set to fail")
