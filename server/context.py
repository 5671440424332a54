"""What request handlers reach for: the app's settings, storage, library and rooms."""

from __future__ import annotations

from dataclasses import dataclass

from quart import current_app

from .library import Library
from .rooms import RoomManager
from .settings import Settings
from .storage import Storage

EXTENSION = "playsync"


@dataclass
class AppState:
    settings: Settings
    storage: Storage
    library: Library
    rooms: RoomManager
    writer_key: str
    """This process's own key in every vote counter (``server:<uuid>``)."""


def app_state() -> AppState:
    return current_app.extensions[EXTENSION]
