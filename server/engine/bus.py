"""The fan-out between server processes: stored updates and presence.

One room per playlist lives in each process that has clients for it. Once a
room's update is committed, it publishes it here with its version; every
other process's room for the playlist applies it (as ``RemoteOrigin``: not
stored again) and relays it to its own clients. Awareness changes made by a
process's own connections travel the same way, and a room that joins asks
the others for theirs.

The bus is the fast path only: it may lose messages (Redis pub/sub is at most
once), and whatever it loses the database catch-up (``catchup.py``) brings
within a second. :class:`LocalBus` connects rooms in one process (tests run
two "servers" against it); ``redis_bus.RedisBus`` connects processes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol, Self


class BusReceiver(Protocol):
    """What a room hears from the other processes holding its playlist."""

    def on_bus_update(self, version: int, update: bytes) -> None: ...

    def on_bus_awareness(self, update: bytes) -> None: ...

    def on_bus_presence_query(self) -> None:
        """A process joined the playlist: publish the presence of this one's peers."""
        ...

    def on_bus_resubscribed(self) -> None:
        """The bus (re)subscribed: what was published meanwhile may be lost; catch up."""
        ...


class BusMember(Protocol):
    """A room's handle on the bus; every method returns at once and never raises."""

    def publish_update(self, version: int, update: bytes) -> None: ...

    def publish_awareness(self, update: bytes) -> None: ...

    def query_presence(self) -> None: ...

    def leave(self) -> None: ...


class UpdateBus(Protocol):
    """Started and stopped with ``async with bus:`` around serving."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    def join(self, room: str, receiver: BusReceiver) -> BusMember:
        """Receive what the others publish for the room."""
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

    def join(self, room: str, receiver: BusReceiver) -> BusMember:
        member = _LocalMember(self, room, receiver)
        self._members[room].add(member)
        return member

    def _others(self, sender: _LocalMember) -> list[_LocalMember]:
        return [m for m in self._members.get(sender.room, ()) if m is not sender]

    def _leave(self, member: _LocalMember) -> None:
        members = self._members.get(member.room)
        if members is not None:
            members.discard(member)
            if not members:
                del self._members[member.room]


class _LocalMember:
    def __init__(self, bus: LocalBus, room: str, receiver: BusReceiver) -> None:
        self.bus, self.room, self.receiver = bus, room, receiver

    def publish_update(self, version: int, update: bytes) -> None:
        for member in self.bus._others(self):
            member.receiver.on_bus_update(version, update)

    def publish_awareness(self, update: bytes) -> None:
        for member in self.bus._others(self):
            member.receiver.on_bus_awareness(update)

    def query_presence(self) -> None:
        for member in self.bus._others(self):
            member.receiver.on_bus_presence_query()

    def leave(self) -> None:
        self.bus._leave(self)
