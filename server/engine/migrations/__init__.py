"""Schema migrations (Alembic): every change of the tables is a revision in ``versions/``.

A database is brought to the newest revision before anything uses it: by every server at
startup, by ``playsync seed``, and by ``playsync db upgrade`` alone. A database made before
migrations existed (tables, no ``alembic_version``) is the first revision: it is stamped so,
then upgraded. Processes starting together on one database take turns (a PostgreSQL advisory
lock, SQLite's write lock), so each revision runs once.

The configuration is built here rather than read from an ``alembic.ini``: the script folder
ships inside the package, and the connection is the server's own.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

HERE = Path(__file__).resolve().parent
BASELINE = "0001"
"""The schema of the first release, made then by ``metadata.create_all``."""

_ADVISORY_LOCK = 0x706C6179  # "play": one key for every playsync database on a server


def config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection) -> tuple[str | None, str]:
    """Bring the database to the newest revision; return (revision before, after).

    Call inside a transaction (``engine.begin()`` + ``run_sync``): the lock is held
    until it commits.
    """
    _lock(connection)
    before = current(connection)
    cfg = config(connection)
    if before is None and inspect(connection).has_table("playlists"):
        command.stamp(cfg, BASELINE)
        before = BASELINE
    command.upgrade(cfg, "head")
    return before, current(connection) or ""


def _lock(connection: Connection) -> None:
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
    elif dialect == "sqlite":
        # pysqlite opens a transaction only before data changes: take the write lock now,
        # so a second process waits here (busy_timeout) instead of racing the DDL.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
