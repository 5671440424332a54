"""Alembic's entry point: migrate the connection :mod:`server.engine.migrations` hands in.

Run through ``playsync db upgrade`` or a server's startup, never ``alembic`` alone: the
connection (and its lock against other processes migrating at once) comes from there.
"""

from __future__ import annotations

from alembic import context

from server.engine.storage import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite alters tables by copying them: later revisions need it
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
