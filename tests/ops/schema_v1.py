"""The tables as main made them at a135448 (``metadata.create_all``, before migrations).

A frozen copy, so "a database made by the first release" stays that database whatever
``server/engine/storage.py`` becomes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)

metadata = MetaData()
_LogId = BigInteger().with_variant(Integer, "sqlite")

tracks = Table(
    "tracks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("title", String(200), nullable=False),
    Column("artist", String(200), nullable=False),
    Column("album", String(200), nullable=False),
    Column("duration_seconds", Integer, nullable=False),
    Column("genre", String(50), nullable=False),
    Column("cover_url", String(500), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
playlists = Table(
    "playlists",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("seq", BigInteger, nullable=False, default=0),
)
snapshots = Table(
    "playlist_snapshots",
    metadata,
    Column("name", String(64), ForeignKey("playlists.name"), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("through_update_id", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
updates = Table(
    "playlist_updates",
    metadata,
    Column("id", _LogId, primary_key=True, autoincrement=True),
    Column("name", String(64), ForeignKey("playlists.name"), nullable=False, index=True),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,
)
