"""The fan-out of document updates between server processes.

One room per playlist lives in each process that has clients for it. When a room stores an
update, it publishes it here (:class:`~server.engine.consumers.BusLink`); every other
process's room for the same playlist receives it, applies it (as ``RemoteOrigin``: not
stored again) and relays it to its own clients. The database stays the source of truth: a
bus may lose messages (Redis pub/sub is at most once), so it tells each member when it has
(re)subscribed, and the member catches up from storage.

:class:`LocalBus` connects rooms in one process (tests run two "servers" against it); a
Redis-backed bus implements the same protocol without touching rooms.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Protocol, Self

Deliver = Callable[[bytes], None]
CatchUp = Callable[[], None]
"""Called by the bus after it (re)subscribed: what was published meanwhile may be lost."""


class BusMember(Protocol):
    def publish(self, update: bytes) -> None:
        """Send an update to every other member of the room; never blocks, never raises."""
        ...

    def leave(self) -> None: ...


class UpdateBus(Protocol):
    """Started and stopped with ``async with bus:`` around serving."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    def join(self, room: str, deliver: Deliver, *, catch_up: CatchUp | None = None) -> BusMember:
        """Receive the room's updates published by others through ``deliver``."""
        ...


class LocalBus:
    """In-process bus: what a single server needs, and a stand-in for Redis in tests.

    It loses nothing, so it never asks a member to catch up.
    """

    def __init__(self) -> None:
        self._members: dict[str, set[_LocalMember]] = defaultdict(set)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._members.clear()

    def join(self, room: str, deliver: Deliver, *, catch_up: CatchUp | None = None) -> BusMember:
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
