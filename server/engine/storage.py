"""Durable storage through SQLAlchemy async: the track library and playlist documents.

A playlist document is stored as a compacted snapshot plus an append-only log
of the updates since (CONTRACT §6). Appends are one SQL transaction each and
commit before the caller gets an answer; compaction swaps the snapshot and
trims the log in one transaction, so a crash at any point leaves a loadable
state. Only portable SQL is used: any SQLAlchemy async URL works
(``sqlite+aiosqlite:///…`` now, ``postgresql+asyncpg://…`` later).

Several processes may share one database (CONTRACT §7). Each append bumps a
per-playlist ``version`` in the playlist's row in the same transaction, so the
row lock serializes appends of one playlist: versions are gapless and in
commit order, unlike log ids (a PostgreSQL sequence hands ids out at insert,
not at commit). Processes catch up by version, and compaction takes the same
row lock and folds only what is stored, never a process's live document.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pycrdt import Doc, get_state, merge_updates
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
    UniqueConstraint,
    bindparam,
    case,
    delete,
    event,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
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
    # Highest event seq handed out (kept for older readers; seqs now carry an epoch).
    Column("seq", BigInteger, nullable=False, default=0),
    # -- multi-process block (scale): versions, see the module docstring ----------------
    # How many updates were ever appended: bumped with each append, under this row's lock.
    Column("version", BigInteger, nullable=False, default=0, server_default="0"),
)

snapshots = Table(
    "playlist_snapshots",
    metadata,
    Column("name", String(64), ForeignKey("playlists.name"), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    # Every log row with id <= this is folded into ``data``.
    Column("through_update_id", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # (scale) every version <= this is folded into ``data``.
    Column("through_version", BigInteger, nullable=False, default=0, server_default="0"),
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
    # (scale) the playlist's version this row was appended as: gapless, commit-ordered.
    Column("version", BigInteger, nullable=False),
    UniqueConstraint("name", "version", name="uq_playlist_updates_name_version"),
    sqlite_autoincrement=True,
)

# An append's two statements, built once: building a SQLAlchemy statement costs more than
# its (cached) compilation, and a busy playlist appends a row every 20 ms.
BUMP_VERSION = (
    update(playlists)
    .where(playlists.c.name == bindparam("playlist"))
    .values(
        updated_at=bindparam("now"),
        version=playlists.c.version + 1,
        seq=case((playlists.c.seq < bindparam("seq"), bindparam("seq")), else_=playlists.c.seq),
    )
    .returning(playlists.c.version)
)
"""The playlist row's next version; its lock is held until commit, so appends of one
playlist commit one after another, each with the next version."""
INSERT_UPDATE = insert(updates)

# (scale) one row per started server process: its id is the epoch in that process's seqs.
server_epochs = Table(
    "server_epochs",
    metadata,
    Column("id", _LogId, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,
)
# -- end of the multi-process block ------------------------------------------------------


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
    """What a room loads: the snapshot (if any), then the log in version order."""

    snapshot: bytes | None = None
    updates: list[bytes] = field(default_factory=list)
    version: int = 0
    """Every version up to this one is in ``snapshot`` or ``updates``."""
    seq: int = 0

    @property
    def log_bytes(self) -> int:
        return sum(len(u) for u in self.updates)

    @property
    def exists(self) -> bool:
        return self.snapshot is not None or bool(self.updates)


@dataclass(frozen=True)
class StoredVersion:
    """Where a playlist's storage stands: its latest version, and what the snapshot folds."""

    version: int
    through_version: int


@dataclass(frozen=True)
class StoredUpdate:
    name: str
    version: int
    data: bytes


class DocumentStore(Protocol):
    """The seam rooms persist through (an in-memory or other backend can stand in)."""

    async def load(self, name: str) -> StoredDocument: ...

    async def append(self, name: str, data: bytes, seq: int) -> int:
        """Store one update; return its version. Committed when this returns."""
        ...

    async def compact(self, name: str, through_version: int | None = None) -> int:
        """Fold the snapshot and the log up to ``through_version`` (default: all of it)
        into a new snapshot, under the playlist's lock; return the snapshot's size."""
        ...

    async def versions(self, names: Iterable[str]) -> dict[str, StoredVersion]:
        """Where each named playlist stands, in one query (absent: never stored)."""
        ...

    async def updates_after(self, after: dict[str, int]) -> list[StoredUpdate]:
        """Each playlist's log rows above the version given, in version order."""
        ...

    async def new_epoch(self) -> int:
        """A number no other server process has had or will have: tags its event seqs."""
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

    async def create_schema(self) -> tuple[str | None, str]:
        """Migrate the database to the newest schema revision (creating it if empty).

        Returns the revision it was at (None: empty) and the one it is at now.
        """
        from . import migrations  # Alembic takes a second to import: only where it migrates

        async with self.engine.begin() as conn:
            return await conn.run_sync(migrations.upgrade)

    async def new_revision(self, message: str) -> str:
        """Autogenerate the next schema revision against this database (developers)."""
        from . import migrations

        async with self.engine.begin() as conn:
            return await conn.run_sync(migrations.new_revision, message)

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
        # One statement, so it sees one state of the database: a compaction committing
        # between a separate snapshot read and log read would hide the rows it folded.
        parts = union_all(
            select(
                literal(0).label("part"),
                snapshots.c.through_version.label("version"),
                snapshots.c.data,
            ).where(snapshots.c.name == name),
            select(literal(1).label("part"), updates.c.version, updates.c.data).where(
                updates.c.name == name
            ),
        ).subquery()
        query = select(parts.c.part, parts.c.version, parts.c.data).order_by(
            parts.c.part, parts.c.version
        )
        try:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
                seq = (
                    await conn.execute(select(playlists.c.seq).where(playlists.c.name == name))
                ).scalar()
        except Exception as exc:
            raise StorageError(f"cannot load playlist {name!r}: {exc}") from exc
        snap = next((row for row in rows if row.part == 0), None)
        log = [row for row in rows if row.part == 1]
        # Every row left is replayed, even one at or below the snapshot's version:
        # updates are idempotent, and compaction deletes what it folds in atomically.
        return StoredDocument(
            snapshot=snap.data if snap else None,
            updates=[row.data for row in log],
            version=max([snap.version if snap else 0, *(row.version for row in log)]),
            seq=seq or 0,
        )

    async def append(self, name: str, data: bytes, seq: int) -> int:
        for attempt in range(3):
            try:
                return await self._append(name, data, seq)
            except IntegrityError:
                # Another process created the playlist's row first: bump it instead.
                if attempt == 2:
                    raise StorageError(f"cannot store an update of {name!r}") from None
            except Exception as exc:
                raise StorageError(f"cannot store an update of {name!r}: {exc}") from exc
        raise AssertionError("unreachable")

    async def _append(self, name: str, data: bytes, seq: int) -> int:
        now = utcnow()
        async with self.engine.begin() as conn:
            params = {"playlist": name, "now": now, "seq": seq}
            version = (await conn.execute(BUMP_VERSION, params)).scalar()
            if version is None:
                version = 1
                await conn.execute(
                    insert(playlists).values(
                        name=name, created_at=now, updated_at=now, seq=seq, version=version
                    )
                )
            await conn.execute(
                INSERT_UPDATE, {"name": name, "data": data, "created_at": now, "version": version}
            )
            return int(version)

    async def compact(self, name: str, through_version: int | None = None) -> int:
        try:
            async with self.engine.begin() as conn:
                # A no-op UPDATE as the first statement: the playlist row's lock on
                # PostgreSQL (one compactor per playlist, appends wait), SQLite's write
                # lock at once (a read first could not be upgraded without SQLITE_BUSY).
                latest = (
                    await conn.execute(
                        update(playlists)
                        .where(playlists.c.name == name)
                        .values(version=playlists.c.version)
                        .returning(playlists.c.version)
                    )
                ).scalar()
                if latest is None:
                    return 0
                through = latest if through_version is None else min(through_version, latest)
                snap = (
                    await conn.execute(
                        select(snapshots.c.data, snapshots.c.through_version).where(
                            snapshots.c.name == name
                        )
                    )
                ).first()
                log = (
                    await conn.execute(
                        select(updates.c.data)
                        .where(updates.c.name == name, updates.c.version <= through)
                        .order_by(updates.c.version)
                    )
                ).scalars()
                parts = ([snap.data] if snap else []) + list(log)
                if not parts or (snap is not None and len(parts) == 1):
                    return len(snap.data) if snap else 0
                folded = fold(parts)
                await conn.execute(delete(snapshots).where(snapshots.c.name == name))
                await conn.execute(
                    insert(snapshots).values(
                        name=name,
                        data=folded,
                        through_update_id=0,
                        through_version=max(through, snap.through_version if snap else 0),
                        updated_at=utcnow(),
                    )
                )
                await conn.execute(
                    delete(updates).where(updates.c.name == name, updates.c.version <= through)
                )
                return len(folded)
        except Exception as exc:
            raise StorageError(f"cannot compact {name!r}: {exc}") from exc

    async def versions(self, names: Iterable[str]) -> dict[str, StoredVersion]:
        wanted = list(names)
        if not wanted:
            return {}
        query = (
            select(
                playlists.c.name,
                playlists.c.version,
                func.coalesce(snapshots.c.through_version, 0).label("through_version"),
            )
            .select_from(playlists.outerjoin(snapshots, snapshots.c.name == playlists.c.name))
            .where(playlists.c.name.in_(wanted))
        )
        try:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        except Exception as exc:
            raise StorageError(f"cannot read playlist versions: {exc}") from exc
        return {row.name: StoredVersion(row.version, row.through_version) for row in rows}

    async def updates_after(self, after: dict[str, int]) -> list[StoredUpdate]:
        if not after:
            return []
        query = (
            select(updates.c.name, updates.c.version, updates.c.data)
            .where(
                or_(
                    *(
                        (updates.c.name == name) & (updates.c.version > version)
                        for name, version in after.items()
                    )
                )
            )
            .order_by(updates.c.name, updates.c.version)
        )
        try:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        except Exception as exc:
            raise StorageError(f"cannot read stored updates: {exc}") from exc
        return [StoredUpdate(row.name, row.version, row.data) for row in rows]

    async def new_epoch(self) -> int:
        try:
            async with self.engine.begin() as conn:
                result = await conn.execute(insert(server_epochs).values(started_at=utcnow()))
                return int(result.inserted_primary_key[0])
        except Exception as exc:
            raise StorageError(f"cannot register this server process: {exc}") from exc

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


def fold(parts: list[bytes]) -> bytes:
    """One update equal to all ``parts``: replayed into a fresh document, which drops
    deleted content, so a snapshot's size follows the document, not its history.

    Should a part wait on one that is missing (pycrdt keeps such structs pending and
    leaves them out of ``get_update``), the parts are merged as they are instead, so
    nothing stored is ever dropped.
    """
    doc = Doc()
    for part in parts:
        doc.apply_update(part)
    replayed = doc.get_update()
    merged = merge_updates(*parts) if len(parts) > 1 else parts[0]
    complete = _state_vector(get_state(replayed)) == _state_vector(get_state(merged))
    return replayed if complete else merged


def _state_vector(data: bytes) -> dict[int, int]:
    """``varUint n``, then n pairs of ``client, clock`` (their order is not defined)."""
    numbers, value, shift = [], 0, 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            numbers.append(value)
            value, shift = 0, 0
    pairs = numbers[1:]
    return dict(zip(pairs[::2], pairs[1::2], strict=True))


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
