"""Durability across crashes (CONTRACT §6), against real ``playsync serve`` processes.

A server is killed with SIGKILL right after its last 2xx answer; a new server on the
same SQLite file must show exactly what was acknowledged.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pycrdt import Doc

from server.engine.storage import Storage

Item = dict[str, Any]

UP = {"direction": "up"}
DOWN = {"direction": "down"}


def client(server, connections: int = 20) -> httpx.AsyncClient:
    # httpx's per-request cost grows with its pool: size it to the concurrency needed.
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits)


def ordered(items: list[Item]) -> list[Item]:
    return sorted(items, key=lambda item: (item["position"], item["id"]))


def replaced(items: list[Item], new: Item) -> list[Item]:
    return ordered([new if item["id"] == new["id"] else item for item in items])


def restart(make_server, crashed) -> Any:
    """A new server process on the crashed one's database file."""
    return make_server("--no-seed", db_path=crashed.db_path, seed=False)


async def listed(server, name: str) -> list[Item]:
    async with client(server) as api:
        response = await api.get(f"/api/playlists/{name}/")
        assert response.status_code == 200
        return response.json()


def ok(response: httpx.Response, status: int = 200) -> Item:
    assert response.status_code == status, response.text
    return response.json() if status != 204 else {}


# -- the last write before the crash, and what the playlist must then be ----------


async def last_add(api, name, items) -> Callable[[], list[Item]]:
    new = ok(await api.post(f"/api/playlists/{name}/", json={"track_id": 20}), 201)
    return lambda: ordered([*items, new])


async def last_move(api, name, items) -> Callable[[], list[Item]]:
    target = items[0]["id"]
    moved = ok(await api.patch(f"/api/playlists/{name}/{target}/", json={"position": 99.25}))
    return lambda: replaced(items, moved)


async def last_vote(api, name, items) -> Callable[[], list[Item]]:
    target = items[-1]["id"]
    voted = ok(await api.post(f"/api/playlists/{name}/{target}/vote/", json=DOWN))
    return lambda: replaced(items, voted)


async def last_play(api, name, items) -> Callable[[], list[Item]]:
    target = next(item["id"] for item in items if not item["is_playing"])
    playing = ok(await api.post(f"/api/playlists/{name}/{target}/play/"))
    stopped = [{**item, "is_playing": False} for item in items]
    return lambda: replaced(stopped, playing)


async def last_delete(api, name, items) -> Callable[[], list[Item]]:
    target = next(item["id"] for item in items if item["is_playing"])
    ok(await api.delete(f"/api/playlists/{name}/{target}/"), 204)
    # Deleting the playing item stops playback.
    return lambda: [{**item, "is_playing": False} for item in items if item["id"] != target]


LAST_WRITES = {
    "add": last_add,
    "move": last_move,
    "vote": last_vote,
    "play": last_play,
    "delete": last_delete,
}


async def build(api: httpx.AsyncClient, name: str) -> list[Item]:
    """Adds, moves, votes, two plays and a delete, each acknowledged before the next."""
    base = f"/api/playlists/{name}"
    ids = [ok(await api.post(f"{base}/", json={"track_id": t}), 201)["id"] for t in range(1, 8)]
    ok(await api.patch(f"{base}/{ids[6]}/", json={"position": 0.5}))
    ok(await api.patch(f"{base}/{ids[2]}/", json={"position": 4.5}))
    for item_id, direction in [(ids[0], UP)] * 3 + [(ids[1], DOWN)] * 2 + [(ids[6], UP)]:
        ok(await api.post(f"{base}/{item_id}/vote/", json=direction))
    ok(await api.post(f"{base}/{ids[3]}/play/"))
    ok(await api.patch(f"{base}/{ids[4]}/", json={"is_playing": True}))
    ok(await api.delete(f"{base}/{ids[1]}/"), 204)
    items = ok(await api.get(f"{base}/"))
    assert [item["votes"] for item in items] == [1, 3, 0, 0, 0, 0]
    assert sum(item["played_at"] is not None for item in items) == 2
    return items


async def test_every_kind_of_acknowledged_rest_write_survives_a_kill_9(make_server, playlist):
    server = make_server("--no-seed")
    names = {kind: f"{playlist}-{kind}" for kind in LAST_WRITES}
    async with client(server) as api:
        built = await asyncio.gather(*(build(api, name) for name in names.values()))
        # One playlist per kind of write; the last writes go out together and the
        # server is killed the moment the last of them is answered.
        expected = await asyncio.gather(
            *(
                LAST_WRITES[kind](api, names[kind], items)
                for kind, items in zip(names, built, strict=True)
            )
        )
        server.kill()
    assert server.process.returncode == -9

    restarted = restart(make_server, server)
    for kind, expect in zip(names, expected, strict=True):
        after = await listed(restarted, names[kind])
        assert after == expect(), f"after the last {kind}"
        assert [item["is_playing"] for item in after].count(True) == (kind != "delete")


async def stored_size(db_path: Path, name: str) -> tuple[int, int, int]:
    """(stored bytes, bare snapshot bytes, log rows) of one playlist, read from the file."""
    storage = Storage(f"sqlite+aiosqlite:///{db_path}")
    try:
        stored = await storage.load(name)
        doc = Doc()
        for part in ([stored.snapshot] if stored.snapshot else []) + stored.updates:
            doc.apply_update(part)
        return await storage.stored_bytes(name), len(doc.get_update()), len(stored.updates)
    finally:
        await storage.close()


async def test_thousands_of_votes_are_stored_compacted_and_all_come_back(make_server, playlist):
    server = make_server("--no-seed")
    votes, batch = 3000, 25
    base = f"/api/playlists/{playlist}"
    async with client(server, connections=batch) as api:
        ids = [
            ok(await api.post(f"{base}/", json={"track_id": t}), 201)["id"] for t in range(1, 11)
        ]
        expected = dict.fromkeys(ids, 0)
        for start in range(0, votes, batch):
            targets = [(ids[(n * 7) % 10], n % 5 != 0) for n in range(start, start + batch)]
            for item_id, up in targets:
                expected[item_id] += 1 if up else -1
            requests = [
                api.post(f"{base}/{item_id}/vote/", json=UP if up else DOWN)
                for item_id, up in targets
            ]
            # Most votes go out together (group commit merges them into few log rows);
            # a few one at a time, so the log passes the server's bound of 500 rows
            # whatever the batching.
            answers = await asyncio.gather(*requests[:-5], return_exceptions=True)
            for request in requests[-5:]:
                try:
                    answers.append(await request)
                except httpx.HTTPError as exc:
                    answers.append(exc)
            failed = [a for a in answers if getattr(a, "status_code", None) != 200]
            assert not failed, failed
        assert {i["id"]: i["votes"] for i in ok(await api.get(f"{base}/"))} == expected
    server.stop()

    stored, bare, log_rows = await stored_size(server.db_path, playlist)
    with sqlite3.connect(server.db_path) as conn:
        snapshots = conn.execute(
            "SELECT count(*) FROM playlist_snapshots WHERE name = ?", (playlist,)
        ).fetchone()[0]
        # Log ids are never reused, so the highest one counts every append ever made.
        appends = conn.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'playlist_updates'"
        ).fetchone()[0]
    print(
        f"\n{votes} votes: stored {stored} B, bare snapshot {bare} B, "
        f"{log_rows} of {appends} appended log rows left"
    )
    assert snapshots == 1, "the log was never compacted"
    assert appends > 500 > log_rows  # the server's default bound: 500 log rows
    assert stored <= 2 * bare

    after = await listed(restart(make_server, server), playlist)
    assert {item["id"]: item["votes"] for item in after} == expected
    assert sum(item["votes"] for item in after) == sum(expected.values()) == 1800


async def test_200_concurrent_votes_on_one_item_all_count_and_survive_a_kill_9(
    make_server, playlist
):
    server = make_server("--no-seed")
    base = f"/api/playlists/{playlist}"
    async with client(server, connections=200) as api:
        item = ok(await api.post(f"{base}/", json={"track_id": 5}), 201)
        ok(await api.post(f"{base}/{item['id']}/vote/", json=DOWN))
        started = time.monotonic()
        answers = await asyncio.gather(
            *(api.post(f"{base}/{item['id']}/vote/", json=UP) for _ in range(200))
        )
        elapsed = time.monotonic() - started
        server.kill()

    print(f"\n200 concurrent votes answered in {elapsed:.2f}s")
    assert [a.status_code for a in answers] == [200] * 200
    # Whichever vote was applied last was answered with the total of all of them.
    assert max(a.json()["votes"] for a in answers) == 199
    after = await listed(restart(make_server, server), playlist)
    assert [(i["id"], i["votes"]) for i in after] == [(item["id"], -1 + 200)]
