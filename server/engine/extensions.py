"""The seam for everything that consumes a room's changes (Hocuspocus's extensions).

A room does one thing itself: apply a change to its document in one transaction and
re-project it. Everything else that follows a change — relaying it to peers, storing it,
publishing it to other processes, turning it into legacy events, metrics, the update gate —
is a :class:`RoomExtension`, run by :class:`ExtensionChain` in a fixed order with the same
few hooks. A new consumer is a new extension, not a new attribute and call inside ``Room``.

Hooks, in the order a room calls them:

- ``on_load(room, stored)``: the room has replayed storage into its document.
- ``check_update(room, update, origin)``: before an update from outside (a peer, another
  process) is applied; raise to refuse it, and nothing is applied.
- ``on_update(room, updates, origin)``: a transaction committed these updates (v1); the
  origin says whether they are to be stored here and who sent them.
- ``on_events(room, changes)``: the projection changed; ``changes`` are the legacy events.
- ``on_sleep(room)``: the room is going dormant: it is about to drop its live document and
  awareness (keeping their encoded state); let go of whatever is held on them.
- ``on_wake(room, state)``: the room rebuilt its document from ``state``, the encoded
  document it kept, with a new awareness; take up again what ``on_sleep`` let go.
- ``on_unload(room)``: the room is being unloaded; return False to keep it loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from crdt.diff import Change

from .origins import Origin
from .storage import StoredDocument

if TYPE_CHECKING:
    from .room import Room

log = logging.getLogger(__name__)


class RoomExtension:
    """A consumer of a room's changes. Every hook is a no-op here: override what you need."""

    def on_load(self, room: Room, stored: StoredDocument) -> None:
        return None

    def check_update(self, room: Room, update: bytes, origin: Origin) -> None:
        return None

    def on_update(self, room: Room, updates: list[bytes], origin: Origin) -> None:
        return None

    def on_events(self, room: Room, changes: list[Change]) -> None:
        return None

    def on_sleep(self, room: Room) -> None:
        return None

    def on_wake(self, room: Room, state: bytes) -> None:
        return None

    async def on_unload(self, room: Room) -> bool:
        return True


ExtensionFactory = Callable[["Room"], RoomExtension]
"""Makes a room's instance of an extension (or returns one shared by every room)."""


class ExtensionChain:
    """Runs the hooks of a room's extensions, in order.

    A refusal from ``check_update`` propagates: that is how an update is refused. An error
    in any other hook is a bug in that extension: it is logged with its traceback and the
    next extension still runs, so one broken consumer cannot stop storage or the relay.
    """

    def __init__(self, extensions: Iterable[RoomExtension]) -> None:
        self.extensions: tuple[RoomExtension, ...] = tuple(extensions)

    def load(self, room: Room, stored: StoredDocument) -> None:
        for extension in self.extensions:
            _guard(room, extension, "on_load", stored)

    def check_update(self, room: Room, update: bytes, origin: Origin) -> None:
        for extension in self.extensions:
            extension.check_update(room, update, origin)

    def update(self, room: Room, updates: list[bytes], origin: Origin) -> None:
        for extension in self.extensions:
            _guard(room, extension, "on_update", updates, origin)

    def events(self, room: Room, changes: list[Change]) -> None:
        for extension in self.extensions:
            _guard(room, extension, "on_events", changes)

    def sleep(self, room: Room) -> None:
        for extension in self.extensions:
            _guard(room, extension, "on_sleep")

    def wake(self, room: Room, state: bytes) -> None:
        for extension in self.extensions:
            _guard(room, extension, "on_wake", state)

    async def unload(self, room: Room) -> bool:
        """Every extension's ``on_unload``, in order; False as soon as one says so."""
        for extension in self.extensions:
            try:
                if not await extension.on_unload(room):
                    return False
            except Exception:
                log.exception("room %s: %s.on_unload failed", room.name, _name(extension))
        return True


def _guard(room: Room, extension: RoomExtension, hook: str, *args: object) -> None:
    try:
        getattr(extension, hook)(room, *args)
    except Exception:
        log.exception("room %s: %s.%s failed", room.name, _name(extension), hook)


def _name(extension: RoomExtension) -> str:
    return type(extension).__name__
