"""Server settings: defaults, then environment (``PLAYSYNC_*``), then CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///playsync.db"
DEFAULT_CORS_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000")
# The built web client (examples/web, `make install`), served at / by server/web.py.
DEFAULT_WEB_ROOT = Path(__file__).resolve().parent.parent / "examples" / "web" / "dist"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 4000
    database_url: str = DEFAULT_DATABASE_URL
    seed: bool = True
    paginate: bool = False
    page_size: int = 100
    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS
    max_body_bytes: int = 64 * 1024
    max_message_bytes: int = 1 << 20  # one Yjs frame; larger closes that connection
    peer_queue: int = 2000  # messages queued for a slow peer before it is dropped
    peer_queue_bytes: int = 8 << 20  # or bytes (relayed updates are merged, so can be large)
    idle_seconds: float = 60.0  # an unused room is unloaded after this
    batch_delay: float = 0.1  # peers' updates are stored within this (contract: ≤ 1 s)
    heartbeat_seconds: float = 20.0
    compact_updates: int = 500
    compact_bytes: int = 1 << 20
    web_root: Path = DEFAULT_WEB_ROOT
    auto_sort_by_votes: bool = False  # order mode of new playlists (the seed's AUTO_SORT_BY_VOTES)

    @classmethod
    def from_env(cls) -> Settings:
        settings = cls()
        env = os.environ
        if "PLAYSYNC_HOST" in env:
            settings.host = env["PLAYSYNC_HOST"]
        if "PLAYSYNC_PORT" in env:
            settings.port = int(env["PLAYSYNC_PORT"])
        if "PLAYSYNC_DATABASE_URL" in env:
            settings.database_url = env["PLAYSYNC_DATABASE_URL"]
        if "PLAYSYNC_PAGINATE" in env:
            settings.paginate = _env_flag("PLAYSYNC_PAGINATE")
        if "PLAYSYNC_CORS_ORIGINS" in env:
            origins = env["PLAYSYNC_CORS_ORIGINS"].split(",")
            settings.cors_origins = tuple(o.strip() for o in origins if o.strip())
        if "PLAYSYNC_HEARTBEAT_SECONDS" in env:
            settings.heartbeat_seconds = float(env["PLAYSYNC_HEARTBEAT_SECONDS"])
        if "PLAYSYNC_IDLE_SECONDS" in env:
            settings.idle_seconds = float(env["PLAYSYNC_IDLE_SECONDS"])
        if "PLAYSYNC_WEB_ROOT" in env:
            settings.web_root = Path(env["PLAYSYNC_WEB_ROOT"])
        if "PLAYSYNC_AUTO_SORT_BY_VOTES" in env:
            settings.auto_sort_by_votes = _env_flag("PLAYSYNC_AUTO_SORT_BY_VOTES")
        return settings
