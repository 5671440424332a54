"""What request handlers reach for: the app's settings, storage, library and rooms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from quart import current_app

from server.engine.auth import AllowAll, Authorizer
from server.engine.library import Library
from server.engine.metrics import Metrics
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
    authorizer: Authorizer = field(default_factory=AllowAll)
    """Who may do what (CONTRACT §8); everything open unless ``--auth-secret`` is set."""
    metrics: Metrics = field(default_factory=Metrics)
    draining: bool = False
    """Shutting down: new WebSockets are refused (server/surfaces/ops.py)."""


def app_state() -> AppState:
    return current_app.extensions[EXTENSION]
