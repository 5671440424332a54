"""Schema migrations (CONTRACT §1): older databases are upgraded first, new ones made at head.

Each case runs on SQLite and on PostgreSQL. "Older" is a database made by the first
release's ``metadata.create_all`` (the frozen copy in ``schema_v1.py``), holding a playlist.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime

import httpx
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pycrdt import Doc
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from crdt import operations as ops
from server.engine import migrations
from server.engine.storage import Storage, metadata
from tests.conftest import ROOT, ServerProcess

from . import schema_v1

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def make_first_release_database(url: str) -> None:
    """The tables of a135448, one track and one playlist with one item in its update log."""
    doc = Doc()
    with doc.transaction():
        ops.add_item(doc, item_id="old-1", track_id=1, added_by="v1", added_at="2026-11-30T12:00Z")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(schema_v1.metadata.create_all)
            await conn.execute(
                insert(schema_v1.tracks).values(
                    id=1,
                    title="Old",
                    artist="A",
                    album="B",
                    duration_seconds=61,
                    genre="Rock",
                    cover_url=None,
                    created_at=NOW,
                )
            )
            await conn.execute(
                insert(schema_v1.playlists).values(
                    name="old", created_at=NOW, updated_at=NOW, seq=7
                )
            )
            await conn.execute(
                insert(schema_v1.updates).values(name="old", data=doc.get_update(), created_at=NOW)
            )
    finally:
        await engine.dispose()


async def schema_state(url: str) -> tuple[str | None, list]:
    """The database's revision, and how its tables differ from ``metadata`` (autogenerate)."""

    def inspect(conn):
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return context.get_current_revision(), compare_metadata(context, metadata)

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(inspect)
    finally:
        await engine.dispose()


def playsync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_new_database_is_made_at_the_newest_revision_exactly_as_metadata(database_url):
    storage = Storage(database_url)
    try:
        assert await storage.create_schema() == (None, migrations.head())
        assert await storage.create_schema() == (migrations.head(), migrations.head())
    finally:
        await storage.close()
    assert await schema_state(database_url) == (migrations.head(), [])


async def test_db_upgrade_migrates_a_first_release_database_and_keeps_its_data(database_url):
    await make_first_release_database(database_url)
    done = playsync("db", "upgrade", "--database-url", database_url)
    assert done.returncode == 0, done.stderr
    assert f"schema at revision {migrations.head()}" in done.stdout
    assert await schema_state(database_url) == (migrations.head(), [])
    storage = Storage(database_url)
    try:
        stored = await storage.load("old")
        tracks = await storage.load_tracks()
    finally:
        await storage.close()
    assert stored.seq == 7 and len(stored.updates) == 1
    assert [track.title for track in tracks] == ["Old"]


async def test_a_server_started_on_a_first_release_database_upgrades_it_and_serves_it(
    database_url, tmp_path
):
    await make_first_release_database(database_url)
    server = ServerProcess(
        db_path=tmp_path / "unused.db", args=("--no-seed", "--database-url", database_url)
    )
    server.start(timeout=60)
    try:
        items = httpx.get(f"{server.base_url}/api/playlists/old/", timeout=10).json()
    finally:
        server.stop()
    assert [(item["id"], item["track"]["title"]) for item in items] == [("old-1", "Old")]
    assert await schema_state(database_url) == (migrations.head(), [])


async def test_seed_upgrades_a_first_release_database_first(database_url):
    await make_first_release_database(database_url)
    done = playsync("seed", "--tracks-only", "--database-url", database_url)
    assert done.returncode == 0, done.stderr
    assert await schema_state(database_url) == (migrations.head(), [])


async def test_processes_upgrading_one_empty_database_at_once_all_succeed(database_url):
    async def upgrade() -> int:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.cli",
            "db",
            "upgrade",
            "--database-url",
            database_url,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return process.returncode

    assert await asyncio.gather(*(upgrade() for _ in range(3))) == [0, 0, 0]
    assert await schema_state(database_url) == (migrations.head(), [])
