"""Fixtures for the operations tests: an empty database on SQLite or on PostgreSQL.

PostgreSQL databases get a random name and are dropped afterwards (others share the
server); ``PLAYSYNC_TEST_POSTGRES`` overrides where it is, and the PostgreSQL cases are
skipped, with the reason, where none answers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

POSTGRES = os.environ.get("PLAYSYNC_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}"
        return
    asyncpg = pytest.importorskip("asyncpg")
    name = f"playsync_ops_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(POSTGRES, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL at {POSTGRES}: {exc}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
