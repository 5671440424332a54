"""One live playlist: its document, its clients, its storage, its events.

Every change to a playlist goes through :meth:`Room.transact` or
:meth:`Room.apply_update`, whoever makes it (REST, a Yjs peer, another server,
a repair). After each transaction the room, in this order and synchronously:

1. relays the update to its Yjs peers (not back to the sender); further updates in the
   same turn of the event loop go out merged at its end,
2. queues it for storage and publishes it to other servers (local changes only),
3. re-projects the touched items and turns the difference into events,
4. repairs the document if the change left it needing one (a merge).

Handlers never broadcast or store by themselves. A REST write then awaits
:meth:`Room.persisted`, so it answers only once its change is committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from pycrdt import Awareness, Doc, create_sync_message, create_update_message, merge_updates

from crdt.diff import diff, snapshot
from crdt.projection import Playlist, project, reproject, touched_item_ids
from crdt.repairs import needs_repair, repair
from crdt.schema import items_map

from .bus import BusMember, UpdateBus
from .events import EventLog, Listener, Render
from .origins import LOAD, REMOTE, REPAIR, Origin, PeerOrigin, RepairOrigin, is_stored_here
from .persistence import CompactionPolicy, Persister
from .storage import DocumentStore, StoredDocument

log = logging.getLogger(__name__)

T = TypeVar("T")

EMPTY_UPDATE = b"\x00\x00"
RESYNC_DELAY = 0.5
"""After an update that could not be applied whole, wait this long, then ask peers for all."""


class Peer(Protocol):
    """A connected Yjs client, as the room sees it."""

    connection_id: int

    def send(self, message: bytes) -> None:
        """Queue a message; never blocks, never raises."""
        ...


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Room:
    def __init__(
        self,
        name: str,
        *,
        store: DocumentStore,
        render: Render,
        bus: UpdateBus | None = None,
        batch_delay: float = 0.1,
        policy: CompactionPolicy | None = None,
        auto_sort_default: bool = False,
    ) -> None:
        self.name = name
        self.doc: Doc = Doc()
        self.playlist = Playlist(auto_sort_default=auto_sort_default)
        self.events = EventLog(render)
        self.peers: dict[int, Peer] = {}
        self.users = 0  # requests in flight that hold this room
        self.awareness = Awareness(self.doc)
        # The server is not a participant: without this, clients see a phantom `{}` peer.
        self.awareness.set_local_state(None)
        self._store = store
        self._bus = bus
        self._bus_member: BusMember | None = None
        self._batch_delay = batch_delay
        self._policy = policy
        self.persister: Persister | None = None
        self._captured_updates: list[bytes] = []
        self._captured_events: list[Any] = []
        self._update_sub = self.doc.observe(
            lambda event: self._captured_updates.append(event.update)
        )
        self._items_sub = items_map(self.doc).observe_deep(self._captured_events.extend)
        self.last_active = time.monotonic()
        self._resync: asyncio.TimerHandle | None = None
        self._memo: dict[str, tuple[Playlist, Any]] = {}
        self._outbox: list[bytes] = []
        self._outbox_sender: int | None = None
        self._relay_turn = False  # an update already went out in this turn of the loop

    # -- lifecycle -----------------------------------------------------------

    def load(self, stored: StoredDocument) -> None:
        """Replay storage into the (fresh) document, then start persisting."""
        # Nothing to relay, store or announce yet: apply directly, and project once.
        with self.doc.transaction(origin=LOAD):
            for part in ([stored.snapshot] if stored.snapshot else []) + stored.updates:
                self.doc.apply_update(part)
        self._captured_updates.clear()
        self._captured_events.clear()
        self.playlist = project(self.doc, self.playlist.auto_sort_default)
        self.events.seq = stored.seq
        self.persister = Persister(
            self.name,
            self._store,
            snapshot=self.doc.get_update,
            seq=lambda: self.events.seq,
            batch_delay=self._batch_delay,
            policy=self._policy,
            log_updates=len(stored.updates),
            log_bytes=stored.log_bytes,
            snapshot_bytes=len(stored.snapshot or b""),
            last_update_id=stored.last_update_id,
        )
        self.persister.start()
        if self._bus is not None:
            self._bus_member = self._bus.join(self.name, self._on_remote_update)
        # A stored document may predate a repair rule, or a crash may have cut one short.
        self._repair_if_needed()

    async def close(self) -> bool:
        """Store what is pending and detach; False (stay loaded) if storage fails."""
        assert self.persister is not None
        if not await self.persister.close():
            return False
        if self._resync is not None:
            self._resync.cancel()
        if self._bus_member is not None:
            self._bus_member.leave()
        self.doc.unobserve(self._update_sub)
        return True

    @property
    def idle(self) -> bool:
        return (
            not self.peers
            and not self.events.listeners
            and self.users == 0
            and not (self.persister and self.persister.dirty)
        )

    def touch(self) -> None:
        self.last_active = time.monotonic()

    # -- the one way in ------------------------------------------------------

    def transact(self, origin: Origin, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(doc, *args, **kwargs)`` as one transaction, then propagate it."""
        try:
            with self.doc.transaction(origin=origin):
                result = fn(self.doc, *args, **kwargs)
        except BaseException:
            # Whatever the transaction committed before failing still has to propagate.
            self._after_transaction(origin)
            raise
        self._after_transaction(origin)
        return result

    def apply_update(self, update: bytes, origin: Origin) -> None:
        """Apply a binary update.

        Raises ValueError (changing nothing) if it cannot be decoded, RuntimeError if pycrdt
        decodes it but cannot integrate it.
        """
        self.transact(origin, _apply, update)

    def memo(self, key: str, compute: Callable[[Playlist], T]) -> T:
        """A value derived from the projection, computed once per change of it.

        The projection is immutable and replaced on every change, so its identity is
        the cache key: a busy playlist read by many clients renders once per change.
        """
        cached = self._memo.get(key)
        if cached is None or cached[0] is not self.playlist:
            cached = self._memo[key] = (self.playlist, compute(self.playlist))
        return cached[1]

    async def persisted(self) -> None:
        """Wait until every change made so far is committed (raises StorageError)."""
        assert self.persister is not None
        await self.persister.flush()

    # -- peers and listeners -------------------------------------------------

    def add_peer(self, peer: Peer) -> None:
        self.peers[peer.connection_id] = peer
        self.touch()

    def remove_peer(self, peer: Peer) -> None:
        self.peers.pop(peer.connection_id, None)
        self.touch()

    def broadcast(self, message: bytes, *, exclude: int | None = None) -> None:
        for connection_id, peer in list(self.peers.items()):
            if connection_id != exclude:
                peer.send(message)

    def _relay(self, updates: list[bytes], origin: Origin) -> None:
        """Send updates to the peers: the first of a turn of the event loop at once, the
        rest of that turn merged into one message at its end.

        A lone change goes out without waiting; a burst (a fast writer, a merge) costs two
        messages per peer instead of one per update and peer. The sender is spared its own
        updates when it alone made everything in a batch; otherwise it gets them too,
        which is harmless.
        """
        sender = origin.connection_id if isinstance(origin, PeerOrigin) else None
        if not self._relay_turn:
            self._relay_turn = True
            asyncio.get_running_loop().call_soon(self._flush_outbox)
            self._broadcast_updates(updates, sender)
            return
        if not self._outbox:
            self._outbox_sender = sender
        elif self._outbox_sender != sender:
            self._outbox_sender = None
        self._outbox.extend(updates)

    def _flush_outbox(self) -> None:
        self._relay_turn = False
        updates, self._outbox = self._outbox, []
        if updates:
            self._broadcast_updates(updates, self._outbox_sender)

    def _broadcast_updates(self, updates: list[bytes], sender: int | None) -> None:
        merged = updates[0] if len(updates) == 1 else merge_updates(*updates)
        self.broadcast(create_update_message(merged), exclude=sender)

    def ask_peers_for_missing(self) -> None:
        """Soon, send every peer sync step 1: each answers with what we lack (debounced)."""
        if self._resync is None:
            self._resync = asyncio.get_running_loop().call_later(RESYNC_DELAY, self._resync_now)

    def _resync_now(self) -> None:
        self._resync = None
        self.broadcast(create_sync_message(self.doc))

    def listen(self) -> Listener:
        listener = Listener(lambda: self.events.render(snapshot(self.playlist)))
        self.events.listeners.add(listener)
        self.touch()
        return listener

    def unlisten(self, listener: Listener) -> None:
        self.events.listeners.discard(listener)
        self.touch()

    # -- internals -----------------------------------------------------------

    def _after_transaction(self, origin: Origin) -> None:
        updates = [u for u in self._captured_updates if u != EMPTY_UPDATE]
        self._captured_updates.clear()
        events = self._captured_events[:]
        self._captured_events.clear()  # the same list: observe_deep appends to it
        if not updates:
            return
        self.touch()
        if self.peers:
            self._relay(updates, origin)
        if is_stored_here(origin):
            for update in updates:
                if self.persister is not None:
                    self.persister.add(update)
                if self._bus_member is not None:
                    self._bus_member.publish(update)
        before = self.playlist
        touched = touched_item_ids(events)
        self.playlist = reproject(self.doc, before, touched)
        self.events.publish(diff(before, self.playlist, touched))
        if not isinstance(origin, RepairOrigin):
            self._repair_if_needed()

    def _repair_if_needed(self) -> None:
        if needs_repair(self.playlist):
            done = self.transact(REPAIR, repair, utc_now_iso())
            for item in done:
                log.info(
                    "room %s: repair %s %s (%s)", self.name, item.kind, item.item_id, item.detail
                )

    def _on_remote_update(self, update: bytes) -> None:
        try:
            self.apply_update(update, REMOTE)
        except (ValueError, RuntimeError):
            log.error("room %s: undecodable update from the bus; ignored", self.name)


def _apply(doc: Doc, update: bytes) -> None:
    doc.apply_update(update)
