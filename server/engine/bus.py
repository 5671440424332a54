"""The fan-out of document updates between server processes.

One room per playlist lives in each process that has clients for it. When a
room changes, it publishes the update here; every other process's room for
the same playlist receives it, applies it (as ``RemoteOrigin``: not stored
again) and relays it to its own clients. :class:`LocalBus` connects rooms in
one process (tests run two "servers" against it); a Redis-backed bus can
implement the same two methods without touching rooms.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

Deliver = Callable[[bytes], None]


class BusMember(Protocol):
    def publish(self, update: bytes) -> None:
        """Send an update to every other member of the room; never blocks, never raises."""
        ...

    def leave(self) -> None: ...


class UpdateBus(Protocol):
    def join(self, room: str, deliver: Deliver) -> BusMember:
        """Receive the room's updates published by others through ``deliver``."""
        ...


class LocalBus:
    """In-process bus: what a single server needs, and a stand-in for Redis in tests."""

    def __init__(self) -> None:
        self._members: dict[str, set[_LocalMember]] = defaultdict(set)

    def join(self, room: str, deliver: Deliver) -> BusMember:
        member = _LocalMember(self, room, deliver)
        self._members[room].add(member)
        return member

    def _publish(self, sender: _LocalMember, update: bytes) -> None:
        for member in list(self._members.get(sender.room, ())):
            if member is not sender:
                member.deliver(update)

    def _leave(self, member: _LocalMember) -> None:
        members = self._members.get(member.room)
        if members is not None:
            members.discard(member)
            if not members:
                del self._members[member.room]


class _LocalMember:
    def __init__(self, bus: LocalBus, room: str, deliver: Deliver) -> None:
        self.bus, self.room, self.deliver = bus, room, deliver

    def publish(self, update: bytes) -> None:
        self.bus._publish(self, update)

    def leave(self) -> None:
        self.bus._leave(self)
