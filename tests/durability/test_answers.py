"""A write's answer says what was committed, even when another change lands while it waits.

Real ``playsync serve`` on a SQLite file the test locks for a moment (``BEGIN IMMEDIATE``
from outside), so that a write is applied but waits for its commit while another change
removes its item.
"""

from __future__ import annotations

import asyncio
import sqlite3

import httpx


async def test_a_vote_whose_item_is_deleted_while_it_commits_answers_200(make_server):
    server = make_server()
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as api:
        base = "/api/playlists/held"
        item = (await api.post(f"{base}/", json={"track_id": 5})).json()
        lock = sqlite3.connect(server.db_path, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")  # the server's next commit waits for this
            vote = asyncio.create_task(
                api.post(f"{base}/{item['id']}/vote/", json={"direction": "up"})
            )
            await asyncio.sleep(0.3)  # applied, waiting for its commit
            delete = asyncio.create_task(api.delete(f"{base}/{item['id']}/"))
            await asyncio.sleep(0.3)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        voted, deleted = await vote, await delete
        # Committed, so not a 404 (which would say nothing was written): the item as the
        # vote left it.
        assert voted.status_code == 200, voted.text
        assert voted.json()["id"] == item["id"] and voted.json()["votes"] == 1
        assert deleted.status_code == 204
        assert (await api.get(f"{base}/")).json() == []
