"""Fixtures for the operations tests: an empty database on SQLite or on PostgreSQL.

PostgreSQL databases come from ``tests.conftest.postgres_database`` (``PLAYSYNC_TEST_POSTGRES``
names the server): fresh, dropped at the session's end, and a failure, never a skip, where
PostgreSQL does not answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}"
    return postgres_database()
