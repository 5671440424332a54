"""Transaction origins: who made a change, and so what the room does with it.

Every transaction on a room's document carries one (Hocuspocus's ``TransactionOrigin``).
Each origin carries its policy as data, so the room and its extensions ask the origin
instead of testing its type:

======================  ===========  ============  ====================================
origin                  stored_here  repair_after  sender (spared its own relay)
======================  ===========  ============  ====================================
``RestOrigin``          yes          yes           none
``PeerOrigin(id)``      yes          yes           the peer's connection
``RepairOrigin``        yes          no            none
``RemoteOrigin``        no           yes           none (another process stored it)
``LoadOrigin``          no           no            none (replaying storage)
======================  ===========  ============  ====================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class RestOrigin:
    """A REST request (legacy API or a script)."""

    stored_here: ClassVar[bool] = True
    repair_after: ClassVar[bool] = True

    @property
    def sender(self) -> int | None:
        return None


@dataclass(frozen=True, slots=True)
class PeerOrigin:
    """A Yjs peer connected to this server, by connection id."""

    connection_id: int
    stored_here: ClassVar[bool] = True
    repair_after: ClassVar[bool] = True

    @property
    def sender(self) -> int | None:
        return self.connection_id


@dataclass(frozen=True, slots=True)
class RepairOrigin:
    """The server's own repairs after a merge (never repaired again: no loop)."""

    stored_here: ClassVar[bool] = True
    repair_after: ClassVar[bool] = False

    @property
    def sender(self) -> int | None:
        return None


@dataclass(frozen=True, slots=True)
class LoadOrigin:
    """Replaying storage into a fresh document: nothing to store or announce."""

    stored_here: ClassVar[bool] = False
    repair_after: ClassVar[bool] = False

    @property
    def sender(self) -> int | None:
        return None


@dataclass(frozen=True, slots=True)
class RemoteOrigin:
    """An update another server process stored (and published on the bus, or the database
    catch-up found): applied and relayed here, never stored again."""

    stored_here: ClassVar[bool] = False
    repair_after: ClassVar[bool] = True

    @property
    def sender(self) -> int | None:
        return None


Origin = RestOrigin | PeerOrigin | RepairOrigin | LoadOrigin | RemoteOrigin

REST = RestOrigin()
REPAIR = RepairOrigin()
LOAD = LoadOrigin()
REMOTE = RemoteOrigin()
