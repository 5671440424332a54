"""Writes a room's updates to storage: group commit for REST, batching for peers.

Every local update goes into one queue. A single task drains it: all updates
queued by then are merged into one row and committed in one transaction, so
200 concurrent REST writes cost a handful of commits, not 200. A REST write
waits on :meth:`Persister.flush` and answers only once its update is
committed; a Yjs peer's update does not wait either when it is the only one
waiting (a lone edit, or a stream slower than the commits: each is committed at
once, so it reaches other processes within a commit); only when several are
waiting does the task batch them, at most one row per ``batch_delay`` (a burst
costs a few rows, not one per update).
Once committed, each row is handed to the ``stored_listeners``
(with its version) to be published to the other processes: never before, so
no process builds on an update that a crash could still lose. When the log
grows past a bound the task asks storage to compact it: storage folds what is
stored, never this process's live document (which may lack other processes'
rows, or hold changes not stored yet).

On a storage error the updates stay queued (the document keeps them in
memory), waiting writers get the error, and the task retries with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pycrdt import merge_updates

from .storage import DocumentStore, StorageError

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class CompactionPolicy:
    """When the log is folded into a new snapshot.

    After ``max_updates`` rows, or once the log outweighs the snapshot (but at least
    ``floor_bytes``, at most ``max_bytes``): stored size stays within about twice the
    document's, however many edits it has seen.
    """

    max_updates: int = 500
    max_bytes: int = 1 << 20
    floor_bytes: int = 16 * 1024

    def due(self, log_updates: int, log_bytes: int, snapshot_bytes: int) -> bool:
        limit = min(self.max_bytes, max(self.floor_bytes, snapshot_bytes))
        return log_updates >= self.max_updates or log_bytes >= limit


class Persister:
    def __init__(
        self,
        name: str,
        store: DocumentStore,
        *,
        seq: Callable[[], int],
        batch_delay: float = 0.02,
        policy: CompactionPolicy | None = None,
        log_updates: int = 0,
        log_bytes: int = 0,
        snapshot_bytes: int = 0,
    ) -> None:
        self.name = name
        self._store = store
        self._seq = seq
        self.stored_listeners: list[Callable[[int, bytes], None]] = []
        """Each gets ``(version, update)`` of every row once it is committed."""
        self._batch_delay = batch_delay
        self._policy = policy or CompactionPolicy()
        self.log_updates = log_updates
        self.log_bytes = log_bytes
        self.snapshot_bytes = snapshot_bytes
        self.version = 0  # of this process's last append
        self._pending: list[bytes] = []
        self._queued = 0  # updates ever queued
        self._stored = 0  # of those, how many are committed
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_commit = -float("inf")  # loop time the last commit ended
        self.compactions = 0

    @property
    def dirty(self) -> bool:
        return self._stored < self._queued

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"persist:{self.name}")

    def add(self, update: bytes) -> None:
        self._pending.append(update)
        self._queued += 1
        self._wake.set()

    async def flush(self) -> None:
        """Return once every update queued before this call is committed."""
        target = self._queued
        if self._stored >= target:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        self._urgent.set()
        self._wake.set()
        await future

    async def close(self) -> bool:
        """Flush what is left and stop; False if storage still fails."""
        try:
            if self.dirty:
                await asyncio.wait_for(self.flush(), timeout=30)
        except (StorageError, TimeoutError):
            log.error("room %s: could not store its last updates; keeping it loaded", self.name)
            return False
        finally:
            if not self.dirty and self._task is not None:
                self._task.cancel()
        return True

    async def _run(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._pending:
                continue
            wait = self._batch_delay - (asyncio.get_running_loop().time() - self._last_commit)
            if (
                wait > 0
                and len(self._pending) > 1
                and not self._waiters
                and not self._urgent.is_set()
            ):
                # Several peer updates are waiting, and a commit just went: batch up. (One
                # alone gains nothing by waiting: waiting only delayed it for other
                # processes, by up to batch_delay behind the previous commit.)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), wait)
            self._urgent.clear()
            batch, self._pending = self._pending, []
            target = self._stored + len(batch)
            data = batch[0] if len(batch) == 1 else merge_updates(*batch)
            try:
                self.version = await self._store.append(self.name, data, self._seq())
            except StorageError as exc:
                self._pending[:0] = batch
                self._fail_waiters(exc)
                delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                failures += 1
                log.warning(
                    "room %s: storing failed (%s); retrying in %.2fs", self.name, exc, delay
                )
                await asyncio.sleep(delay)
                self._wake.set()
                continue
            failures = 0
            self._last_commit = asyncio.get_running_loop().time()
            self._stored = target
            self.log_updates += 1
            self.log_bytes += len(data)
            for listener in self.stored_listeners:
                listener(self.version, data)
            self._release_waiters()
            if self._policy.due(self.log_updates, self.log_bytes, self.snapshot_bytes):
                await self.compact()
            if self._pending:
                self._wake.set()

    async def compact(self) -> None:
        """Fold what is stored into a new snapshot (any process may, one at a time)."""
        try:
            self.snapshot_bytes = await self._store.compact(self.name)
        except StorageError as exc:
            log.warning("room %s: compaction failed (%s); will retry later", self.name, exc)
            return
        self.compactions += 1
        self.log_updates = 0
        self.log_bytes = 0

    def _release_waiters(self) -> None:
        still = []
        for target, future in self._waiters:
            if target <= self._stored:
                if not future.done():
                    future.set_result(None)
            else:
                still.append((target, future))
        self._waiters = still

    def _fail_waiters(self, exc: StorageError) -> None:
        for _, future in self._waiters:
            if not future.done():
                future.set_exception(exc)
        self._waiters = []
