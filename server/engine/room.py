"""One live playlist: its document, its projection, its peers and listeners.

Every change to a playlist goes through :meth:`Room.transact` or :meth:`Room.apply_update`,
whoever makes it (REST, a Yjs peer, another server, a repair). The room applies it in one
transaction and re-projects the items it touched; everything that follows a change is an
extension (:mod:`server.engine.extensions`), run in a fixed order:

1. the update goes to each extension's ``on_update`` (relay to peers, storage, the bus, ...);
2. the difference of the projections goes to each ``on_events`` (the legacy event stream);
3. if the change left the document needing a repair (a merge), the room repairs it as
   another transaction, which goes through the same steps.

Handlers never broadcast or store by themselves. A REST write then awaits
:meth:`Room.persisted`, so it answers only once its change is committed.

A room left idle for a while goes dormant (:meth:`Room.sleep`): it keeps its projection,
its event log and its document's encoded state, and drops the live document, which is
most of what a loaded playlist costs. The next use of :attr:`Room.doc` wakes it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Protocol, TypeVar

from pycrdt import Awareness, Doc, create_sync_message

from crdt.diff import diff, snapshot
from crdt.projection import Playlist, project, reproject, touched_item_ids
from crdt.repairs import needs_repair, repair, repair_unaffected
from crdt.schema import items_map, utc_now_iso

from .events import EventLog, Listener, Message, Render
from .extensions import ExtensionChain, RoomExtension
from .origins import LOAD, REMOTE, REPAIR, Origin
from .persistence import Persister
from .storage import StoredDocument

log = logging.getLogger(__name__)

T = TypeVar("T")

EMPTY_UPDATE = b"\x00\x00"
"""A v1 update with no structs and no deletions (pycrdt emits one for a no-op transaction)."""

MAX_DERIVED = 16
"""Values :meth:`Room.derived` keeps per change of the document."""

RESYNC_DELAY = 0.5
"""After an update that could not be applied whole, wait this long, then ask peers for all."""


class Peer(Protocol):
    """A connected Yjs client, as the room sees it."""

    connection_id: int

    def send(self, message: bytes) -> None:
        """Queue a message; never blocks, never raises."""
        ...


class Room:
    def __init__(self, name: str, *, render: Render, auto_sort_default: bool = False) -> None:
        self.name = name
        self.playlist = Playlist(auto_sort_default=auto_sort_default)
        self.events = EventLog(render)
        self.peers: dict[int, Peer] = {}
        self.users = 0  # requests in flight that hold this room
        self.persister: Persister | None = None
        """What REST writes wait on (:meth:`persisted`); set by the persistence extension."""
        self.extensions = ExtensionChain(())
        self.last_active = time.monotonic()
        self._captured_updates: list[bytes] = []
        self._captured_events: list[Any] = []
        self._resync: asyncio.TimerHandle | None = None
        self._memo: dict[str, tuple[Playlist, Any]] = {}
        self.changes = 0
        """Transactions that changed the document: what is derived from it is keyed on this."""
        self._derived: dict[Hashable, Any] = {}
        self._derived_at = 0
        self._needs_no_repair = False  # the projection was checked and needed none since
        self._doc: Doc | None = None
        self._awareness: Awareness | None = None
        self._state: bytes | None = None  # the document's encoded state (zlib) while dormant
        self._attach(Doc())

    def _attach(self, doc: Doc) -> None:
        """Make ``doc`` the live document: observe it, give it a fresh awareness."""
        self._doc = doc
        self._client_id = doc.client_id
        self._awareness = Awareness(doc)
        # The server is not a participant: without this, clients see a phantom `{}` peer.
        self._awareness.set_local_state(None)
        self._update_sub = doc.observe(lambda event: self._captured_updates.append(event.update))
        self._items_sub = items_map(doc).observe_deep(self._captured_events.extend)

    def _detach(self, doc: Doc) -> None:
        # Both: a subscription pycrdt holds keeps its Doc alive (a cycle through Rust that
        # Python's collector cannot see), so a dropped document was never freed.
        doc.unobserve(self._update_sub)
        self._items_sub.drop()  # its Map wrapper was a temporary: drop the subscription itself

    # -- the document, live or dormant ---------------------------------------

    @property
    def doc(self) -> Doc:
        """The live document; reading it wakes a dormant room.

        A property, so that nothing can ever act on a dropped document, whatever path
        reaches it (a write, a peer, a remote update, a repair, admin), rather than a
        ``wake()`` call to remember at each entry point; what needs only the projection
        (GET, the event stream, metrics) never touches it and leaves the room asleep.
        (:meth:`apply_update` and :meth:`add_peer` still wake it first, before any
        extension looks at the room.)
        """
        return self.wake()

    @property
    def awareness(self) -> Awareness:
        """Presence of the peers; reading it wakes a dormant room, as :attr:`doc` does."""
        self.wake()
        assert self._awareness is not None
        return self._awareness

    @property
    def client_id(self) -> int:
        """The server's client id in this document, the same across sleeps."""
        return self._client_id

    @property
    def dormant(self) -> bool:
        return self._doc is None

    def sleep(self) -> bool:
        """Go dormant: keep the document's encoded state, drop the live document.

        Only an idle room sleeps (nothing to store, nobody connected), so the state kept is
        what storage holds. Memoized bodies go too (a dormant room read again gets them
        back, and loses them again here). A pending update (one waiting on a struct never
        received) is not part of the encoded state and is lost, as on unload; only a server
        without the gate can hold one, and its peer re-sends it on reconnect.
        Returns whether it let go of anything.
        """
        if not self.idle:
            return False
        dropped = bool(self._memo or self._derived)
        self._memo.clear()
        self._derived.clear()
        doc = self._doc
        if doc is None:
            return dropped
        self.extensions.sleep(self)
        if self._resync is not None:
            self._resync.cancel()
            self._resync = None
        # Compressed: the v1 encoding repeats every field name per item, and a 200-item
        # playlist's 44 KB become 10 KB, for about 1 ms here and 0.2 ms on waking.
        self._state = zlib.compress(doc.get_update(), 1)
        self._detach(doc)
        self._doc = self._awareness = None
        return True

    def wake(self) -> Doc:
        """The live document, rebuilt first if the room is dormant.

        Rebuilt under the same client id: the server's next writes continue its own clock
        (the kept state holds every struct it wrote, so the rebuilt document's clock for it
        is where it stopped) instead of adding a writer to the state vector at every wake,
        for good, in storage and in every peer.
        """
        if self._doc is not None:
            return self._doc
        assert self._state is not None, "a room without a document is dormant"
        state = zlib.decompress(self._state)
        doc = Doc(client_id=self._client_id)
        with doc.transaction(origin=LOAD):  # nothing to relay, store or announce
            doc.apply_update(state)
        self._state = None
        self._attach(doc)
        self.extensions.wake(self, state)
        log.debug("room %s woke", self.name)
        return doc

    # -- lifecycle -----------------------------------------------------------

    def load(self, stored: StoredDocument, extensions: Iterable[RoomExtension]) -> None:
        """Replay storage into the (fresh) document, then hand the room to its extensions."""
        # Nothing to relay, store or announce yet: apply directly, and project once.
        with self.doc.transaction(origin=LOAD):
            for part in ([stored.snapshot] if stored.snapshot else []) + stored.updates:
                self.doc.apply_update(part)
        self._captured_updates.clear()
        self._captured_events.clear()
        self.playlist = project(self.doc, self.playlist.auto_sort_default)
        self.extensions = ExtensionChain(extensions)
        self.extensions.load(self, stored)
        # A stored document may predate a repair rule, or a crash may have cut one short.
        self._repair_if_needed()

    async def close(self) -> bool:
        """Store what is pending and detach; False (stay loaded) if storage fails."""
        if not await self.extensions.unload(self):
            return False
        if self._resync is not None:
            self._resync.cancel()
        if self._doc is not None:  # a dormant room has nothing attached any more
            self._detach(self._doc)
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
        """Apply a binary update from outside (a peer, another process).

        The extensions' ``check_update`` may refuse it first (nothing is applied then).
        Raises ValueError (changing nothing) if it cannot be decoded, RuntimeError if pycrdt
        decodes it but cannot integrate it.
        """
        self.wake()  # before the gate judges the update against the document
        self.extensions.check_update(self, update, origin)
        self.transact(origin, _apply, update)

    def apply_remote(self, update: bytes) -> None:
        """An update another process stored: apply it; one that cannot be is logged."""
        try:
            self.apply_update(update, REMOTE)
        except (ValueError, RuntimeError):
            log.error("room %s: undecodable update from another process; ignored", self.name)

    def memo(self, key: str, compute: Callable[[Playlist], T]) -> T:
        """A value derived from the projection, computed once per change of it.

        The projection is immutable and replaced on every change, so its identity is
        the cache key: a busy playlist read by many clients renders once per change.
        """
        cached = self._memo.get(key)
        if cached is None or cached[0] is not self.playlist:
            cached = self._memo[key] = (self.playlist, compute(self.playlist))
        return cached[1]

    def derived(self, key: Hashable, compute: Callable[[], T]) -> T:
        """A value derived from the document, computed once per change of it.

        Sync step 2 for the same state vector is the case: 1000 peers joining at once all
        send an empty one, and encoding 200 items once instead of 1000 times is most of
        their join. Keys may come from peers, so at most :data:`MAX_DERIVED` are kept.
        """
        if self._derived_at != self.changes:
            self._derived.clear()
            self._derived_at = self.changes
        if key in self._derived:
            return self._derived[key]
        value = compute()
        if len(self._derived) < MAX_DERIVED:
            self._derived[key] = value
        return value

    async def persisted(self) -> None:
        """Wait until every change made so far is committed (raises StorageError)."""
        if self.persister is not None:
            await self.persister.flush()

    # -- peers and listeners -------------------------------------------------

    def add_peer(self, peer: Peer) -> None:
        self.wake()  # a peer syncs the document: wake it now, not mid-frame
        self.peers[peer.connection_id] = peer
        self.touch()

    def remove_peer(self, peer: Peer) -> None:
        self.peers.pop(peer.connection_id, None)
        self.touch()

    def broadcast(self, message: bytes, *, exclude: int | None = None) -> None:
        for connection_id, peer in list(self.peers.items()):
            if connection_id != exclude:
                peer.send(message)

    def ask_peers_for_missing(self) -> None:
        """Soon, send every peer sync step 1: each answers with what we lack (debounced)."""
        if self._resync is None:
            self._resync = asyncio.get_running_loop().call_later(RESYNC_DELAY, self._resync_now)

    def _resync_now(self) -> None:
        self._resync = None
        self.broadcast(create_sync_message(self.doc))

    def snapshot_message(self) -> Message:
        """The whole playlist as one ``playlist.updated`` at the current seq, for a new
        listener or one that fell behind; rendered once per change, shared by all."""
        return self.memo("snapshot", lambda playlist: self.events.render(snapshot(playlist)))

    def listen(self) -> Listener:
        listener = Listener(self.snapshot_message)
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
        self.changes += 1
        self.touch()
        self.extensions.update(self, updates, origin)
        before = self.playlist
        touched = touched_item_ids(events)
        self.playlist = reproject(self.doc, before, touched)
        changes = diff(before, self.playlist, touched)
        if changes:
            self.extensions.events(self, changes)
        if not origin.repair_after:
            self._needs_no_repair = False  # not checked: the next change checks it all
        elif not (
            self._needs_no_repair
            and touched is not None
            and repair_unaffected(before, self.playlist, touched)
        ):
            self._repair_if_needed()

    def _repair_if_needed(self) -> None:
        self._needs_no_repair = not needs_repair(self.playlist)
        if not self._needs_no_repair:
            done = self.transact(REPAIR, repair, utc_now_iso())
            for item in done:
                log.info(
                    "room %s: repair %s %s (%s)", self.name, item.kind, item.item_id, item.detail
                )


def _apply(doc: Doc, update: bytes) -> None:
    doc.apply_update(update)
