"""The schema of the first release (main at a135448): tracks, playlists, snapshot + update log.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SQLite only autoincrements INTEGER PRIMARY KEY; elsewhere 64-bit ids.
_LogId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tracks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("artist", sa.String(200), nullable=False),
        sa.Column("album", sa.String(200), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("genre", sa.String(50), nullable=False),
        sa.Column("cover_url", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "playlists",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "playlist_snapshots",
        sa.Column("name", sa.String(64), sa.ForeignKey("playlists.name"), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("through_update_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "playlist_updates",
        sa.Column("id", _LogId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), sa.ForeignKey("playlists.name"), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        # Log ids are never reused (see storage.py): AUTOINCREMENT, not a plain rowid.
        sqlite_autoincrement=True,
    )
    op.create_index("ix_playlist_updates_name", "playlist_updates", ["name"])


def downgrade() -> None:
    op.drop_index("ix_playlist_updates_name", table_name="playlist_updates")
    op.drop_table("playlist_updates")
    op.drop_table("playlist_snapshots")
    op.drop_table("playlists")
    op.drop_table("tracks")
