"""Per-playlist versions (several processes on one database, CONTRACT §7) and server epochs.

Existing log rows are numbered 1..n per playlist in log order, each playlist's version is
its last row's, and a snapshot folds version 0 (the rows left are all replayed on load, as
before).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_LogId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column(
        "playlists", sa.Column("version", sa.BigInteger(), nullable=False, server_default="0")
    )
    op.add_column(
        "playlist_snapshots",
        sa.Column("through_version", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.add_column("playlist_updates", sa.Column("version", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE playlist_updates SET version = (SELECT COUNT(*) FROM playlist_updates AS earlier"
        " WHERE earlier.name = playlist_updates.name AND earlier.id <= playlist_updates.id)"
    )
    op.execute(
        "UPDATE playlists SET version = COALESCE((SELECT MAX(version) FROM playlist_updates"
        " WHERE playlist_updates.name = playlists.name), 0)"
    )
    # SQLite makes a column NOT NULL by copying the table: keep AUTOINCREMENT on the copy,
    # and its counter, so a log id is never handed out twice (see storage.py).
    last_id = _sqlite_sequence("playlist_updates")
    with op.batch_alter_table(
        "playlist_updates", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.alter_column("version", existing_type=sa.BigInteger(), nullable=False)
        batch.create_unique_constraint("uq_playlist_updates_name_version", ["name", "version"])
    _restore_sqlite_sequence("playlist_updates", last_id)
    op.create_table(
        "server_epochs",
        sa.Column("id", _LogId, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("server_epochs")
    with op.batch_alter_table(
        "playlist_updates", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.drop_constraint("uq_playlist_updates_name_version", type_="unique")
        batch.drop_column("version")
    with op.batch_alter_table("playlist_snapshots") as batch:
        batch.drop_column("through_version")
    with op.batch_alter_table("playlists") as batch:
        batch.drop_column("version")


def _sqlite_sequence(table: str) -> int | None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return None
    row = bind.execute(
        sa.text("SELECT seq FROM sqlite_sequence WHERE name = :table"), {"table": table}
    ).first()
    return row[0] if row else None


def _restore_sqlite_sequence(table: str, last_id: int | None) -> None:
    if last_id is None:
        return
    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :table"), {"table": table})
    bind.execute(
        sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:table, :seq)"),
        {"table": table, "seq": last_id},
    )
