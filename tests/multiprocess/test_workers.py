"""``playsync serve --workers N``: N processes on one port, one database (CONTRACT §7)."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import ServerProcess, seed_tracks
from tests.realtime.conftest import Rest, event_socket

from .test_cluster import converged


async def test_two_workers_share_the_port_and_converge(tmp_path, playlist):
    server = ServerProcess(db_path=tmp_path / "workers.db", args=("--no-seed", "--workers", "2"))
    seed_tracks(server.database_url)
    server.start(timeout=90)  # the parent starts, then each worker imports everything again
    try:
        await _two_workers(server, playlist)
    finally:
        server.stop()


async def _two_workers(server: ServerProcess, playlist: str) -> None:
    limits = httpx.Limits(max_keepalive_connections=0)  # a new connection for each request
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=limits) as client:
        rest = Rest(client, playlist)
        ids = {(await rest.add(track_id))["id"] for track_id in range(1, 9)}
        # Each worker numbers its own events: the epoch in the high bits tells them apart
        # (a since no worker issued gets a snapshot, stamped with that worker's seq).
        epochs = set()
        async with asyncio.timeout(60):
            while len(epochs) < 2:
                async with event_socket(server.ws_url, playlist, since=0) as events:
                    snapshot = await events.next()
                    epochs.add(snapshot["seq"] >> 32)
        # Whichever worker answers, the playlist is the same.
        await converged([rest, rest, rest, rest], ids)
