"""Durable storage through SQLAlchemy async: the track library and playlist documents.

A playlist document is stored as a compacted snapshot plus an append-only log
of the updates since (CONTRACT §6). Appends are one SQL transaction each and
commit before the caller gets an answer; compaction swaps the snapshot and
trims the log in one transaction, so a crash at any point leaves a loadable
state. Only portable SQL is used: any SQLAlchemy async URL works
(``sqlite+aiosqlite:///…`` now, ``postgresql+asyncpg://…`` later).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

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
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


class StorageError(Exception):
    """The database could not do what was asked (unreachable, locked, full)."""


metadata = MetaData()

# SQLite only autoincrements INTEGER PRIMARY KEY; elsewhere use 64-bit ids.
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
    # Highest event seq handed out, so seqs keep increasing across restarts.
    Column("seq", BigInteger, nullable=False, default=0),
)

snapshots = Table(
    "playlist_snapshots",
    metadata,
    Column("name", String(64), ForeignKey("playlists.name"), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    # Every log row with id <= this is folded into ``data``.
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
    # Log ids must never be reused: a snapshot folds in every id <= its
    # ``through_update_id``, and a plain SQLite rowid restarts at max(id) + 1 once
    # compaction has emptied the log, which would hide every later update on load.
    sqlite_autoincrement=True,
)


@dataclass(frozen=True)
class TrackRow:
    id: int
    title: str
    artist: str
    album: str
    duration_seconds: int
    genre: str
    cover_url: str | None
    created_at: datetime


@dataclass(frozen=True)
class PlaylistRow:
    name: str
    created_at: datetime
    updated_at: datetime


@dataclass
class StoredDocument:
    """What a room loads: the snapshot (if any), then the log in order."""

    snapshot: bytes | None = None
    updates: list[bytes] = field(default_factory=list)
    last_update_id: int = 0
    seq: int = 0

    @property
    def log_bytes(self) -> int:
        return sum(len(u) for u in self.updates)

    @property
    def exists(self) -> bool:
        return self.snapshot is not None or bool(self.updates)


class DocumentStore(Protocol):
    """The seam rooms persist through (an in-memory or other backend can stand in)."""

    async def load(self, name: str) -> StoredDocument: ...

    async def append(self, name: str, data: bytes, seq: int) -> int:
        """Store one update; return its log id. Committed when this returns."""
        ...

    async def compact(self, name: str, snapshot: bytes, through_update_id: int) -> None:
        """Replace the snapshot and drop the log rows it folds in, atomically."""
        ...


def utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone=True columns.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Storage:
    """SQLAlchemy-backed :class:`DocumentStore` plus the track library."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, **engine_options)
        if make_url(url).get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    async def create_schema(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            raise StorageError(str(exc)) from exc

    # -- track library -------------------------------------------------------

    async def load_tracks(self) -> list[TrackRow]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(tracks).order_by(tracks.c.id))).mappings()
            return [TrackRow(**{**row, "created_at": _as_utc(row["created_at"])}) for row in rows]

    async def insert_missing_tracks(self, library: Iterable[dict[str, Any]]) -> int:
        """Insert tracks whose id is not stored yet; return how many were inserted."""
        async with self.engine.begin() as conn:
            known = set((await conn.execute(select(tracks.c.id))).scalars())
            now = utcnow()
            rows = [{**track, "created_at": now} for track in library if track["id"] not in known]
            if rows:
                await conn.execute(insert(tracks), rows)
            return len(rows)

    # -- playlist documents --------------------------------------------------

    async def list_playlists(self) -> list[PlaylistRow]:
        query = select(playlists.c.name, playlists.c.created_at, playlists.c.updated_at)
        try:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query.order_by(playlists.c.name))).all()
        except Exception as exc:
            raise StorageError(f"cannot list playlists: {exc}") from exc
        return [
            PlaylistRow(row.name, _as_utc(row.created_at), _as_utc(row.updated_at)) for row in rows
        ]

    async def load(self, name: str) -> StoredDocument:
        try:
            async with self.engine.connect() as conn:
                seq = (
                    await conn.execute(select(playlists.c.seq).where(playlists.c.name == name))
                ).scalar()
                snap = (
                    await conn.execute(
                        select(snapshots.c.data, snapshots.c.through_update_id).where(
                            snapshots.c.name == name
                        )
                    )
                ).first()
                log = (
                    await conn.execute(
                        select(updates.c.id, updates.c.data)
                        .where(updates.c.name == name)
                        .order_by(updates.c.id)
                    )
                ).all()
        except Exception as exc:
            raise StorageError(f"cannot load playlist {name!r}: {exc}") from exc
        through = snap.through_update_id if snap else 0
        # Every row left is replayed, even one numbered at or below ``through`` (a database
        # made before ids stopped being reused): updates are idempotent, and compaction
        # deletes the rows it folds in within its own transaction.
        return StoredDocument(
            snapshot=snap.data if snap else None,
            updates=[row.data for row in log],
            last_update_id=max([through, *(row.id for row in log)]),
            seq=seq or 0,
        )

    async def append(self, name: str, data: bytes, seq: int) -> int:
        now = utcnow()
        try:
            async with self.engine.begin() as conn:
                touched = await conn.execute(
                    update(playlists)
                    .where(playlists.c.name == name)
                    .values(updated_at=now, seq=seq)
                )
                if touched.rowcount == 0:
                    await conn.execute(
                        insert(playlists).values(name=name, created_at=now, updated_at=now, seq=seq)
                    )
                result = await conn.execute(
                    insert(updates).values(name=name, data=data, created_at=now)
                )
                return int(result.inserted_primary_key[0])
        except Exception as exc:
            raise StorageError(f"cannot store an update of {name!r}: {exc}") from exc

    async def compact(self, name: str, snapshot: bytes, through_update_id: int) -> None:
        now = utcnow()
        try:
            async with self.engine.begin() as conn:
                await conn.execute(delete(snapshots).where(snapshots.c.name == name))
                await conn.execute(
                    insert(snapshots).values(
                        name=name,
                        data=snapshot,
                        through_update_id=through_update_id,
                        updated_at=now,
                    )
                )
                await conn.execute(
                    delete(updates).where(updates.c.name == name, updates.c.id <= through_update_id)
                )
        except Exception as exc:
            raise StorageError(f"cannot compact {name!r}: {exc}") from exc

    async def stored_bytes(self, name: str) -> int:
        """Snapshot plus log size of one playlist (for tests and benchmarks)."""
        async with self.engine.connect() as conn:
            snap = (
                await conn.execute(
                    select(func.coalesce(func.sum(func.length(snapshots.c.data)), 0)).where(
                        snapshots.c.name == name
                    )
                )
            ).scalar_one()
            log = (
                await conn.execute(
                    select(func.coalesce(func.sum(func.length(updates.c.data)), 0)).where(
                        updates.c.name == name
                    )
                )
            ).scalar_one()
        return int(snap) + int(log)


# -- track library edits (the admin, CONTRACT §11) ---------------------------------------------


async def add_track(storage: Storage, fields: dict[str, Any]) -> TrackRow:
    """Insert a track under the next free id; committed when this returns."""
    try:
        async with storage.engine.begin() as conn:
            top = (await conn.execute(select(func.max(tracks.c.id)))).scalar()
            row = {**fields, "id": (top or 0) + 1, "created_at": utcnow()}
            await conn.execute(insert(tracks).values(**row))
    except Exception as exc:
        raise StorageError(f"cannot add a track: {exc}") from exc
    return TrackRow(**row)


async def update_track(storage: Storage, track_id: int, fields: dict[str, Any]) -> TrackRow | None:
    """Change some fields of a track; None when there is no such track."""
    try:
        async with storage.engine.begin() as conn:
            if fields:
                await conn.execute(update(tracks).where(tracks.c.id == track_id).values(**fields))
            row = (
                (await conn.execute(select(tracks).where(tracks.c.id == track_id)))
                .mappings()
                .first()
            )
    except Exception as exc:
        raise StorageError(f"cannot update track {track_id}: {exc}") from exc
    return None if row is None else TrackRow(**{**row, "created_at": _as_utc(row["created_at"])})


async def delete_track(storage: Storage, track_id: int) -> bool:
    """Delete a track; False when there was none."""
    try:
        async with storage.engine.begin() as conn:
            result = await conn.execute(delete(tracks).where(tracks.c.id == track_id))
    except Exception as exc:
        raise StorageError(f"cannot delete track {track_id}: {exc}") from exc
    return result.rowcount > 0


async def delete_playlist(storage: Storage, name: str) -> None:
    """Drop a playlist's stored document and its row (its room must be unloaded)."""
    try:
        async with storage.engine.begin() as conn:
            await conn.execute(delete(updates).where(updates.c.name == name))
            await conn.execute(delete(snapshots).where(snapshots.c.name == name))
            await conn.execute(delete(playlists).where(playlists.c.name == name))
    except Exception as exc:
        raise StorageError(f"cannot delete playlist {name!r}: {exc}") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL for concurrent readers; FULL sync so a commit survives a crash; wait on locks."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
