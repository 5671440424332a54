"""What request handlers reach for: the app's settings, storage, library and rooms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from quart import current_app

from server.engine.library import Library
from server.engine.rooms import RoomManager
from server.engine.storage import Storage

from .address_slots import AddressSlots

if TYPE_CHECKING:  # settings belong to the entry points; surfaces only read them
    from server.settings import Settings

EXTENSION = "playsync"


@dataclass
class AppState:
    settings: Settings
    storage: Storage
    library: Library
    rooms: RoomManager
    writer_key: str
    """This process's own key in every vote counter (``server:<uuid>``)."""
    sockets: AddressSlots = field(default_factory=AddressSlots)
    """Open WebSockets per client address (``max_connections_per_address``)."""


def app_state() -> AppState:
    return current_app.extensions[EXTENSION]
