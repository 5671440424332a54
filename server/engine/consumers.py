"""The four consumers every room has, as extensions: relay, storage, bus, events.

They run in this order after each transaction (``RoomManager`` builds them per room):

1. :class:`Persistence` queues what is to be stored here for the group-commit writer (first,
   so that on unload nothing detaches before the last updates are stored);
2. :class:`PeerRelay` sends the update to the room's Yjs peers at once;
3. :class:`BusLink` publishes it to other server processes;
4. :class:`EventFeed` turns the projection's changes into legacy events.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pycrdt import create_update_message, merge_updates

from crdt.diff import Change

from .bus import BusMember, UpdateBus
from .extensions import RoomExtension
from .origins import Origin
from .persistence import CompactionPolicy, Persister
from .storage import DocumentStore, StoredDocument

if TYPE_CHECKING:
    from .room import Room


class PeerRelay(RoomExtension):
    """Sends updates to the peers: the first of a turn of the event loop at once, the rest
    of that turn merged into one message at its end.

    A lone change goes out without waiting; a burst (a fast writer, a merge) costs two
    messages per peer instead of one per update and peer. The sender is spared its own
    updates when it alone made everything in a batch; otherwise it gets them too, which is
    harmless.
    """

    def __init__(self) -> None:
        self._outbox: list[bytes] = []
        self._outbox_sender: int | None = None
        self._turn = False  # an update already went out in this turn of the loop

    def on_update(self, room: Room, updates: list[bytes], origin: Origin) -> None:
        if not room.peers:
            return
        sender = origin.sender
        if not self._turn:
            self._turn = True
            asyncio.get_running_loop().call_soon(self._flush, room)
            _broadcast_updates(room, updates, sender)
            return
        if not self._outbox:
            self._outbox_sender = sender
        elif self._outbox_sender != sender:
            self._outbox_sender = None
        self._outbox.extend(updates)

    def _flush(self, room: Room) -> None:
        self._turn = False
        updates, self._outbox = self._outbox, []
        if updates:
            _broadcast_updates(room, updates, self._outbox_sender)


def _broadcast_updates(room: Room, updates: list[bytes], sender: int | None) -> None:
    merged = updates[0] if len(updates) == 1 else merge_updates(*updates)
    room.broadcast(create_update_message(merged), exclude=sender)


class Persistence(RoomExtension):
    """Stores what is to be stored here, through a :class:`Persister` it makes on load.

    It is the room's ``persister``, which REST writes wait on before answering.
    """

    def __init__(
        self, store: DocumentStore, *, batch_delay: float, policy: CompactionPolicy
    ) -> None:
        self._store, self._batch_delay, self._policy = store, batch_delay, policy
        self.persister: Persister | None = None

    def on_load(self, room: Room, stored: StoredDocument) -> None:
        self.persister = Persister(
            room.name,
            self._store,
            snapshot=room.doc.get_update,
            seq=lambda: room.events.seq,
            batch_delay=self._batch_delay,
            policy=self._policy,
            log_updates=len(stored.updates),
            log_bytes=stored.log_bytes,
            snapshot_bytes=len(stored.snapshot or b""),
            last_update_id=stored.last_update_id,
        )
        self.persister.start()
        room.persister = self.persister

    def on_update(self, room: Room, updates: list[bytes], origin: Origin) -> None:
        if origin.stored_here and self.persister is not None:
            for update in updates:
                self.persister.add(update)

    async def on_unload(self, room: Room) -> bool:
        return self.persister is None or await self.persister.close()


class BusLink(RoomExtension):
    """Publishes what this process stored to the others, and applies what they publish."""

    def __init__(self, bus: UpdateBus) -> None:
        self._bus = bus
        self._member: BusMember | None = None

    def on_load(self, room: Room, stored: StoredDocument) -> None:
        self._member = self._bus.join(room.name, lambda update: room.apply_remote(update))

    def on_update(self, room: Room, updates: list[bytes], origin: Origin) -> None:
        if origin.stored_here and self._member is not None:
            for update in updates:
                self._member.publish(update)

    async def on_unload(self, room: Room) -> bool:
        if self._member is not None:
            self._member.leave()
        return True


class EventFeed(RoomExtension):
    """Numbers the projection's changes and offers them to the event-stream listeners."""

    def on_load(self, room: Room, stored: StoredDocument) -> None:
        room.events.seq = stored.seq

    def on_events(self, room: Room, changes: list[Change]) -> None:
        room.events.publish(changes)
