"""The extension that keeps a room in step with the other processes (CONTRACT §7).

- It knows which stored versions the room's document holds (:class:`StoredVersions`),
  and applies those of other processes in order, from the bus or the database catch-up.
- Once this process has committed an update (never before: no process may build on an
  update a crash could still lose), it publishes it on the bus with its version.
- It publishes the awareness changes of this process's own connections, applies those
  of the others', and answers a newly joined process with its peers' presence. States
  another process's connection introduced are that process's to change and remove; a
  local connection re-sending them does not come to own them (``sync.py``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pycrdt import Awareness, create_awareness_message

from .bus import BusMember, UpdateBus
from .catchup import CatchUp, StoredVersions
from .extensions import RoomExtension
from .origins import REMOTE, PeerOrigin
from .storage import StoredDocument
from .sync import apply_awareness_update

if TYPE_CHECKING:
    from .room import Room

log = logging.getLogger(__name__)


class Replication(RoomExtension):
    def __init__(self, bus: UpdateBus | None, catch_up: CatchUp | None) -> None:
        self._bus = bus
        self._catch_up = catch_up
        self._member: BusMember | None = None
        self._room: Room | None = None
        self._awareness: Awareness | None = None  # the room's, observed while it is awake
        self._awareness_sub: str | None = None
        self._remote_clients: set[int] = set()
        self.name = ""
        self.versions = StoredVersions()

    # -- the extension hooks -------------------------------------------------

    def on_load(self, room: Room, stored: StoredDocument) -> None:
        self._room, self.name = room, room.name
        self.versions = StoredVersions(stored.version)
        if room.persister is not None:  # the persistence extension runs before this one
            room.persister.stored_listeners.append(self._stored)
        self._observe(room)
        if self._bus is not None:
            self._member = self._bus.join(room.name, self)
            self._member.query_presence()

    def on_sleep(self, room: Room) -> None:
        # A dormant room has no peers of its own: the others' presence is of no use to it
        # until it wakes, and then it asks for it again (below). It stays on the bus for
        # updates, which wake it.
        self._unobserve()
        self._remote_clients.clear()

    def on_wake(self, room: Room, state: bytes) -> None:
        self._observe(room)
        if self._member is not None:
            self._member.query_presence()

    async def on_unload(self, room: Room) -> bool:
        if self._member is not None:
            self._member.leave()
            self._member = None
        self._unobserve()
        return True

    def _observe(self, room: Room) -> None:
        self._awareness = room.awareness
        self._awareness_sub = self._awareness.observe(self._on_awareness_change)

    def _unobserve(self) -> None:
        if self._awareness is not None and self._awareness_sub is not None:
            self._awareness.unobserve(self._awareness_sub)
        self._awareness = None
        self._awareness_sub = None

    # -- stored updates (catchup.CatchingUp) -------------------------------------

    def _stored(self, version: int, update: bytes) -> None:
        ready = self.versions.own(version)
        if self._member is not None:
            self._member.publish_update(version, update)
        self._apply(ready)

    def apply_stored(self, version: int, update: bytes) -> None:
        """An update another process stored: applied in version order, never stored again."""
        if self._room is None:
            return
        self._apply(self.versions.offer(version, update))

    def apply_reload(self, stored: StoredDocument) -> None:
        """What storage holds now, applied over the live document (harmless twice)."""
        if self._room is None:
            return
        for part in ([stored.snapshot] if stored.snapshot else []) + stored.updates:
            self._room.apply_remote(part)
        self._apply(self.versions.reloaded(stored.version))

    def _apply(self, ready: list[bytes]) -> None:
        """Apply other processes' stored updates that are next in version order."""
        for update in ready:
            if self._room is None:
                return
            self._room.apply_remote(update)

    # -- the bus (bus.BusReceiver) -------------------------------------------

    def on_bus_update(self, version: int, update: bytes) -> None:
        self.apply_stored(version, update)

    def on_bus_resubscribed(self) -> None:
        if self._catch_up is not None:
            self._catch_up.soon()

    def on_bus_awareness(self, update: bytes) -> None:
        room = self._room
        if room is None or room.dormant:  # no peer here to tell; it asks again on waking
            return
        try:
            changed = apply_awareness_update(room.awareness, update, REMOTE)
        except (ValueError, UnicodeDecodeError):
            log.error("room %s: a malformed awareness update from the bus; ignored", room.name)
            return
        self._remote_clients.update(c for c in changed if c in room.awareness.states)
        self._remote_clients.intersection_update(room.awareness.states)
        if changed:
            update = room.awareness.encode_awareness_update(changed)
            room.broadcast(create_awareness_message(update))

    def on_bus_presence_query(self) -> None:
        room = self._room
        if room is None or room.dormant or self._member is None:
            return  # a dormant room has no peers of its own
        own = [c for c in room.awareness.states if c not in self._remote_clients]
        if own:
            self._member.publish_awareness(room.awareness.encode_awareness_update(own))

    def _on_awareness_change(self, topic: str, args: tuple[dict[str, Any], Any]) -> None:
        """Publish what this process's own connections changed (not what the bus brought)."""
        changes, origin = args
        room = self._room
        if topic != "update" or not isinstance(origin, PeerOrigin) or room is None:
            return
        clients = [
            c
            for c in changes["added"] + changes["updated"] + changes["removed"]
            if c not in self._remote_clients
        ]
        if clients and self._member is not None:
            self._member.publish_awareness(room.awareness.encode_awareness_update(clients))
