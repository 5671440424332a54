"""The registry of live rooms: loaded on first use, unloaded when idle.

Concurrent first users of a playlist share one load (Hocuspocus's
``loadingDocuments``), so a room is never started twice. A room is unloaded
only when it has no peers, no listeners, no request in flight and nothing
left to store; the check happens again after every ``await``, and a request
that arrives while a room is closing waits for the close, then loads afresh.
Before that, an idle room goes dormant (:meth:`Room.sleep`): registered still, it keeps
its projection, events and encoded document, and wakes when its document is needed.

Several processes may hold the same playlist (CONTRACT §7): one
:class:`~.catchup.CatchUp` task per process brings every loaded room what the
others stored, and event seqs carry this process's epoch (:func:`seq_base`),
so a ``since`` from another process, or from before a restart, matches none
of this one's and gets a snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from .bus import UpdateBus
from .catchup import DEFAULT_INTERVAL, CatchUp
from .consumers import EventFeed, PeerRelay, Persistence
from .events import Render
from .extensions import ExtensionFactory, RoomExtension
from .gate import GateExtension, GateLimits
from .heap import release_freed_memory
from .persistence import CompactionPolicy
from .replication import Replication
from .room import Room
from .storage import DocumentStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoomSettings:
    idle_seconds: float = 60.0
    dormant_seconds: float = 5.0  # idle this long, a room drops its live document (0: never)
    batch_delay: float = 0.02
    compaction: CompactionPolicy = field(default_factory=CompactionPolicy)
    gate: GateLimits | None = field(default_factory=GateLimits)  # None: peers unchecked
    catch_up_seconds: float = DEFAULT_INTERVAL
    auto_sort_default: bool = False  # order mode of playlists whose document sets none


EPOCH_BITS = 32
"""Low bits of a seq count events; the bits above hold the process's epoch.

Epochs come from the database, one per process start, so they increase and never
repeat: 2**21 starts fit below 2**53, the integers JavaScript clients hold exactly.
"""


def seq_base(epoch: int) -> int:
    return epoch << EPOCH_BITS


def standard_extensions(
    store: DocumentStore,
    settings: RoomSettings,
    bus: UpdateBus | None = None,
    catch_up: CatchUp | None = None,
) -> list[RoomExtension]:
    """The consumers every room has, in order: the gate (CONTRACT §9: first, so that it
    judges a peer's update before anything else sees it), storage, relay, replication
    (other processes), events."""
    own: list[RoomExtension] = [] if settings.gate is None else [GateExtension(settings.gate)]
    return [
        *own,
        Persistence(store, batch_delay=settings.batch_delay, policy=settings.compaction),
        PeerRelay(),
        Replication(bus, catch_up),
        EventFeed(),
    ]


class RoomManager:
    def __init__(
        self,
        store: DocumentStore,
        render: Render,
        *,
        bus: UpdateBus | None = None,
        settings: RoomSettings | None = None,
        extensions: Sequence[ExtensionFactory] = (),
    ) -> None:
        """``extensions``: what every room runs after its own four (storage, relay, bus,
        events), in this order; each factory makes a room's instance (or returns a shared one).
        """
        self._store = store
        self._render = render
        self._bus = bus
        self._extensions = tuple(extensions)
        self.settings = settings or RoomSettings()
        self.rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Task[Room]] = {}
        self._closing: dict[str, asyncio.Task[bool]] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._replicas: dict[str, Replication] = {}
        self.catch_up = CatchUp(store, lambda: self._replicas, self.settings.catch_up_seconds)
        self.epoch = 0
        self._last_seq: dict[str, int] = {}  # of rooms unloaded, so seqs never go back

    async def __aenter__(self) -> RoomManager:
        self.epoch = await self._store.new_epoch()
        self._reaper = asyncio.create_task(self._reap_idle_rooms(), name="rooms:reaper")
        self.catch_up.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.catch_up.stop()
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for name in list(self.rooms):
            await self._unload(name, force=True)

    async def get(self, name: str) -> Room:
        """The live room of a playlist, loading it if needed."""
        while True:
            closing = self._closing.get(name)
            if closing is not None:
                await asyncio.shield(closing)
                if self._closing.get(name) is closing:
                    # Closed, but the unloader (awaiting the same task) has not yet run its
                    # bookkeeping. Awaiting a finished task does not yield, so without this
                    # the loop spun here for good and the whole process hung.
                    await asyncio.sleep(0)
                continue
            room = self.rooms.get(name)
            if room is not None:
                return room
            task = self._loading.get(name)
            if task is None:
                task = asyncio.create_task(self._load(name), name=f"load:{name}")
                self._loading[name] = task
            return await asyncio.shield(task)

    @contextlib.asynccontextmanager
    async def use(self, name: str) -> AsyncIterator[Room]:
        """Hold a room for the length of a request, so it cannot be unloaded meanwhile."""
        room = await self.get(name)
        room.users += 1
        try:
            yield room
        finally:
            room.users -= 1
            room.touch()

    async def _load(self, name: str) -> Room:
        try:
            stored = await self._store.load(name)
            # This process's numbering, never the stored seq of another process's: set
            # before loading, so even a repair made on load is numbered in this epoch.
            stored.seq = self._last_seq.get(name, seq_base(self.epoch))
            room = Room(
                name, render=self._render, auto_sort_default=self.settings.auto_sort_default
            )
            extensions = self._extensions_for(room)
            room.load(stored, extensions)
            self.rooms[name] = room
            self._replicas[name] = next(e for e in extensions if isinstance(e, Replication))
            return room
        finally:
            del self._loading[name]

    def _extensions_for(self, room: Room) -> list[RoomExtension]:
        own = standard_extensions(self._store, self.settings, self._bus, self.catch_up)
        return own + [factory(room) for factory in self._extensions]

    async def _reap_idle_rooms(self) -> None:
        """Unload rooms idle for ``idle_seconds``; before that, after ``dormant_seconds``,
        put them to sleep (:meth:`Room.sleep`)."""
        idle, dormant = self.settings.idle_seconds, self.settings.dormant_seconds
        interval = max(0.05, min(idle, dormant or idle) / 4)
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            dropped = False
            for name, room in list(self.rooms.items()):
                if self.rooms.get(name) is not room or not room.idle:
                    continue  # unloaded, or in use again, while an earlier one closed
                if now - room.last_active >= idle:
                    await self._unload(name)
                elif dormant and now - room.last_active >= dormant:
                    dropped = room.sleep() or dropped
            if dropped:  # once per pass, however many rooms went to sleep
                await release_freed_memory()

    async def unload(self, name: str, *, then: Callable[[], Awaitable[None]] | None = None) -> bool:
        """Unload an idle room now; ``then`` runs after its close, before anyone can load
        it again (the admin drops a playlist's storage there). False if it is in use."""
        room = self.rooms.get(name)
        if (room is not None and not room.idle) or name in self._loading or name in self._closing:
            return False
        if room is None:
            if then is not None:
                await then()
            return True
        await self._unload(name, then=then)
        return name not in self.rooms

    async def _close(self, room: Room, then: Callable[[], Awaitable[None]] | None) -> bool:
        closed = await room.close()
        if closed and then is not None:
            await then()
        return closed

    async def _unload(
        self, name: str, *, force: bool = False, then: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        room = self.rooms.get(name)
        if room is None or (not force and not room.idle):
            return
        del self.rooms[name]  # no new user can find it from here on
        replica = self._replicas.pop(name, None)
        self._last_seq[name] = room.events.seq
        task = asyncio.create_task(self._close(room, then), name=f"close:{name}")
        self._closing[name] = task
        try:
            closed = await asyncio.shield(task)
        finally:
            del self._closing[name]
        if not closed and not force:
            self.rooms[name] = room  # storage is failing: keep the changes in memory
            if replica is not None:
                self._replicas[name] = replica
        else:
            log.info("room %s unloaded", name)
