"""Transaction origins: who made a change, so the room knows what to do with it.

Every transaction on a room's document carries one (Hocuspocus's
``TransactionOrigin``). The room stores and publishes local changes, relays
everything to its peers except back to the sender, and never stores what it
just loaded or what another server already stored.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RestOrigin:
    """A REST request (legacy API or a script)."""


@dataclass(frozen=True, slots=True)
class PeerOrigin:
    """A Yjs peer connected to this server, by connection id."""

    connection_id: int


@dataclass(frozen=True, slots=True)
class RepairOrigin:
    """The server's own repairs after a merge."""


@dataclass(frozen=True, slots=True)
class LoadOrigin:
    """Replaying storage into a fresh document: nothing to store or announce."""


@dataclass(frozen=True, slots=True)
class RemoteOrigin:
    """An update another server process stored and published on the update bus."""


Origin = RestOrigin | PeerOrigin | RepairOrigin | LoadOrigin | RemoteOrigin

REST = RestOrigin()
REPAIR = RepairOrigin()
LOAD = LoadOrigin()
REMOTE = RemoteOrigin()


def is_stored_here(origin: Origin) -> bool:
    """Whether this process must persist and publish the change."""
    return not isinstance(origin, LoadOrigin | RemoteOrigin)
