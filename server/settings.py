"""Server settings, typed (pydantic-settings): flags, then ``PLAYSYNC_*``, then ``.env``.

Every field is a ``playsync serve`` flag (``--field-name``; booleans also ``--no-field-name``),
an environment variable ``PLAYSYNC_FIELD_NAME`` and a line of a ``.env`` file in the working
directory (CONTRACT §1). The docstring under a field is its ``--help`` text. A bad value stops
the server with one message that names the setting (:func:`server.cli.main`).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///playsync.db"
DEFAULT_CORS_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000")
# The built web client (examples/web, `make install`), served at / by server/surfaces/web.py.
DEFAULT_WEB_ROOT = Path(__file__).resolve().parent.parent / "examples" / "web" / "dist"

RATE = r"^\s*\d+(\.\d+)?\s*/\s*s\s*$"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PLAYSYNC_",
        env_file=".env",
        extra="ignore",
        use_attribute_docstrings=True,
        validate_assignment=True,
    )

    # -- serving -------------------------------------------------------------
    host: str = "127.0.0.1"
    """Interface to bind."""
    port: int = Field(4000, ge=0, le=65535)
    """Port to serve on."""
    workers: int = Field(1, ge=1, le=64)
    """Server processes on this port, sharing the database and the bus (CONTRACT §7)."""
    event_loop: Literal["asyncio", "uvloop"] = "asyncio"
    """The event loop: Python's asyncio, or uvloop (pip install 'playsync[uvloop]'): more REST
    requests per second, later fan-out to many peers (bench/README.md)."""
    backlog: int = Field(4096, ge=1)
    """Connections the kernel holds until they are accepted (capped by net.core.somaxconn).
    After a restart every client reconnects at once: with hypercorn's 100, most of 1000
    joining peers waited for TCP to retry (1 s, then 3 s)."""
    database_url: str = DEFAULT_DATABASE_URL
    """SQLAlchemy async URL: sqlite+aiosqlite:///file.db, or postgresql+asyncpg://… (§7)."""
    redis_url: str | None = None
    """Redis URL (redis://host:6379/0) carrying updates and presence between processes (§7)."""
    seed: bool = True
    """Seed an empty database with the track library and the demo playlist."""

    # -- the legacy API --------------------------------------------------------
    paginate: bool = False
    """Wrap every list in {count, next, previous, results}, as the original frontend expects."""
    page_size: int = Field(100, ge=1, le=1000)
    """Items per page of a paginated list."""
    auto_sort_by_votes: bool = False
    """Default order of new playlists: by votes, highest first (the seed's AUTO_SORT_BY_VOTES)."""
    cors_origins: Annotated[tuple[str, ...], NoDecode] = DEFAULT_CORS_ORIGINS
    """Browser origins allowed to call the API, comma-separated."""

    # -- access control and limits (CONTRACT §8, §9) --------------------------
    auth_secret: str | None = None
    """Secret that signs access tokens (HS256); unset, every surface is open."""
    rate_limit: str | None = Field(None, pattern=RATE)
    """REST writes per client per second, as N/s (unset: no limit)."""
    max_items: int = Field(1000, ge=1)
    """Items a playlist may hold."""
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    """Largest REST request body."""
    max_message_bytes: int = Field(1 << 20, ge=1024)
    """Largest WebSocket message; a larger one closes that connection (1009)."""
    peer_queue: int = Field(2000, ge=1)
    """Messages queued for a slow peer before it is dropped."""
    peer_queue_bytes: int = Field(8 << 20, ge=1024)
    """Bytes queued for a slow peer before it is dropped (relayed updates are merged)."""

    # -- rooms and storage -----------------------------------------------------
    idle_seconds: float = Field(60.0, gt=0)
    """An unused playlist is unloaded from memory after this long."""
    dormant_seconds: float = Field(5.0, ge=0)
    """Before that, after this long unused, it keeps only its encoded document (0: never)."""
    batch_delay: float = Field(0.02, ge=0, le=1)
    """Peers' updates are stored within this many seconds (CONTRACT §6: at most 1): one
    waiting alone at once, several waiting together in one row, at most one per this long."""
    compact_updates: int = Field(500, ge=1)
    """Compact a playlist's log once it has this many rows..."""
    compact_bytes: int = Field(1 << 20, ge=1024)
    """...or this many bytes."""

    # -- event stream, logs, the web page --------------------------------------
    heartbeat_seconds: float = Field(20.0, gt=0)
    """Event-stream heartbeat interval."""
    log_format: Literal["text", "json"] = "text"
    """Log lines as text, or as one JSON object per line."""
    log_file: Path | None = None
    """Also write the log to this file (rotated), like the seed's logs/django.log."""
    web_root: Path = DEFAULT_WEB_ROOT
    """The built web client served at /."""
    check_updates: bool = True
    """Judge every peer's update before applying it (CONTRACT §9); off only to measure the gate."""
    redis_prefix: str = "playsync"
    """Prefix of this deployment's channels on the Redis of --redis-url."""
    catch_up_seconds: float = Field(0.5, gt=0, le=1)
    """How often each process reads what the others stored (CONTRACT §7: within 1 s)."""

    # -- connection limits (CONTRACT §9) ----------------------------------------
    send_timeout_seconds: float = Field(25.0, gt=0)
    """A connection whose peer reads nothing for this long while data waits is cut."""
    ping_seconds: float = Field(10.0, ge=0)
    """WebSocket ping interval; a peer that leaves a ping unanswered this long is cut (0: off)."""
    max_peers_per_playlist: int = Field(2000, ge=0)
    """Yjs peers one playlist accepts in this process; more are closed with 1013 (0: no limit)."""
    max_connections_per_address: int = Field(2048, ge=0)
    """WebSockets one client address may hold open; more get HTTP 503 (0: no limit)."""
    peer_bytes_per_second: int = Field(1 << 20, ge=0)
    """Update bytes a Yjs peer may send per second; beyond, it is read more slowly (0: off)."""

    @field_validator("event_loop")
    @classmethod
    def _loop_installed(cls, value: str) -> str:
        if value == "uvloop" and importlib.util.find_spec("uvloop") is None:
            raise ValueError("uvloop is not installed (pip install 'playsync[uvloop]')")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value
