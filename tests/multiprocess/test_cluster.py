"""Several server processes, one database, one Redis: no acknowledged write lost (CONTRACT §7).

Real processes throughout: two or three ``playsync serve``, PostgreSQL (or one SQLite file), a
``redis-server`` of the test's own, Node Yjs peers, event-stream listeners on every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess, postgres_database
from tests.interop.peers import NodePeer
from tests.realtime.conftest import EventSocket, Rest, event_socket

from .conftest import RedisServer

WAIT = 20.0
# The whole playlist in one event (CONTRACT §3: ``playlist.updated``; older servers said
# ``playlist.reordered``).
SNAPSHOT_EVENTS = {"playlist.updated", "playlist.reordered"}


class Listener:
    """An event-stream listener reading in the background: every message it got, in order."""

    def __init__(self, socket: EventSocket) -> None:
        self.socket = socket
        self.messages: list[dict] = []
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                self.messages.append(await self.socket.next(timeout=3600))

    def added_ids(self) -> list[str]:
        return [m["payload"]["id"] for m in self.messages if m.get("type") == "track.added"]

    def snapshot_ids(self) -> set[str]:
        return {
            item["id"]
            for m in self.messages
            if m.get("type") in SNAPSHOT_EVENTS
            for item in m["payload"]["items"]
        }

    def stop(self) -> None:
        self._task.cancel()


@contextlib.asynccontextmanager
async def listening(server: ServerProcess, name: str) -> AsyncIterator[Listener]:
    async with event_socket(server.ws_url, name) as socket:
        listener = Listener(socket)
        try:
            yield listener
        finally:
            listener.stop()


@contextlib.asynccontextmanager
async def rest_on(server: ServerProcess, name: str) -> AsyncIterator[Rest]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        yield Rest(client, name)


async def converged(rests: list[Rest], expected_ids: set[str], timeout: float = WAIT) -> list:
    """Wait until every process lists the same playlist, holding ``expected_ids``."""
    async with asyncio.timeout(timeout):
        while True:
            lists = await asyncio.gather(*(rest.list() for rest in rests))
            ids = {item["id"] for item in lists[0]}
            if expected_ids <= ids and all(other == lists[0] for other in lists[1:]):
                return lists[0]
            await asyncio.sleep(0.05)


def votes_of(items: list[dict]) -> dict[str, int]:
    return {item["id"]: item["votes"] for item in items}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_the_issue_reproduction_keeps_every_acknowledged_write(cluster, tmp_path, database):
    """Issue #10: B loads; A adds (201); B takes 600 votes and compacts; A's track survives."""
    url = (
        postgres_database() if database == "postgresql" else f"sqlite+aiosqlite:///{tmp_path}/s.db"
    )
    a, b = cluster(2, database_url=url, PLAYSYNC_COMPACT_UPDATES="20")
    name = "issue10"
    async with rest_on(a, name) as rest_a, rest_on(b, name) as rest_b:
        voted = await rest_b.add(1)
        added = await rest_a.add(2)
        for _ in range(0, 600, 50):
            answers = await asyncio.gather(*(rest_b.vote(voted["id"]) for _ in range(50)))
            assert len(answers) == 50
        items = await converged([rest_a, rest_b], {voted["id"], added["id"]})
        assert votes_of(items) == {voted["id"]: 600, added["id"]: 0}
        # The same track is accepted once, wherever it is added.
        duplicate = await rest_b.client.post(rest_b.url(), json={"track_id": 2})
        assert duplicate.status_code == 400, duplicate.text
        assert duplicate.json()["error"]["code"] == "DUPLICATE_TRACK"

    for server in (a, b):
        server.stop()
    for server in (a, b):
        server.start()
    async with rest_on(a, name) as rest_a, rest_on(b, name) as rest_b:
        items = await converged([rest_a, rest_b], {voted["id"], added["id"]})
        assert votes_of(items) == {voted["id"]: 600, added["id"]: 0}


async def test_votes_taken_on_two_processes_at_once_reach_both_through_redis(
    cluster, redis_server: RedisServer
):
    """Each process's commits interleave with the other's, so an update of B's often comes
    over Redis before A has recorded its own previous commit: it waits for it, then applies.
    (It used to be dropped there for good, and the processes never agreed again.)"""
    a, b = cluster(2, redis_url=redis_server.url)
    name = "both-vote"
    async with rest_on(a, name) as rest_a, rest_on(b, name) as rest_b:
        ids = [(await rest_a.add(track))["id"] for track in range(1, 6)]
        await converged([rest_a, rest_b], set(ids))

        async def voter(rest: Rest, offset: int, count: int = 60) -> None:
            for n in range(count):
                await rest.vote(ids[(n + offset) % len(ids)])

        await asyncio.gather(
            *(voter(rest, k) for k, rest in enumerate([rest_a, rest_a, rest_b, rest_b]))
        )
        items = await converged([rest_a, rest_b], set(ids))
        assert sum(votes_of(items).values()) == 4 * 60


async def test_three_processes_converge_through_compactions_a_kill_and_a_redis_restart(
    cluster, redis_server: RedisServer, tmp_path: Path
):
    a, b, c = cluster(3, redis_url=redis_server.url, PLAYSYNC_COMPACT_UPDATES="5")
    name = f"cluster-{uuid.uuid4().hex[:8]}"
    acked: set[str] = set()
    async with (
        listening(a, name) as listen_a,
        listening(b, name) as listen_b,
        listening(c, name) as listen_c,
        rest_on(a, name) as rest_a,
        rest_on(b, name) as rest_b,
        rest_on(c, name) as rest_c,
    ):
        peer_a = NodePeer(a.ws_url, name, label="peer-on-a")
        peer_b = NodePeer(b.ws_url, name, label="peer-on-b")
        with peer_a, peer_b:
            await asyncio.to_thread(peer_a.wait_synced)
            await asyncio.to_thread(peer_b.wait_synced)
            # Presence crosses processes.
            await asyncio.to_thread(peer_a.cmd, "awareness", state={"user": "ada"})
            await asyncio.to_thread(peer_b.cmd, "awareness", state={"user": "bob"})
            async with asyncio.timeout(WAIT):
                while True:
                    seen_a = (await asyncio.to_thread(peer_a.cmd, "awareness_states"))["states"]
                    seen_b = (await asyncio.to_thread(peer_b.cmd, "awareness_states"))["states"]
                    users_a = {s.get("user") for s in seen_a.values() if s}
                    users_b = {s.get("user") for s in seen_b.values() if s}
                    if users_a >= {"ada", "bob"} and users_b >= {"ada", "bob"}:
                        break
                    await asyncio.sleep(0.05)
            # A peer that leaves B is gone from A's peer's presence too. Checked while Redis is
            # up: presence is not stored, so a removal published during a Redis outage is only
            # undone by the clients' 30 s timeout (docs/deployment.md).
            with NodePeer(b.ws_url, name, label="leaver-on-b") as leaver:
                await asyncio.to_thread(leaver.wait_synced)
                await asyncio.to_thread(leaver.cmd, "awareness", state={"user": "cy"})
                async with asyncio.timeout(WAIT):
                    while True:
                        seen = (await asyncio.to_thread(peer_a.cmd, "awareness_states"))["states"]
                        if "cy" in {s.get("user") for s in seen.values() if s}:
                            break
                        await asyncio.sleep(0.05)
                await asyncio.to_thread(leaver.cmd, "disconnect")
            async with asyncio.timeout(WAIT):
                while True:
                    seen = (await asyncio.to_thread(peer_a.cmd, "awareness_states"))["states"]
                    if "cy" not in {s.get("user") for s in seen.values() if s}:
                        break
                    await asyncio.sleep(0.05)

            # A Yjs peer on A, REST writers on B and C, compactions every 5 appends on each.
            for n in range(5):
                item_id = f"peer-{n}"
                await asyncio.to_thread(peer_a.cmd, "add", item_id=item_id, track_id=1 + n)
                acked.add(item_id)
            for n in range(5):
                acked.add((await rest_b.add(6 + n))["id"])
            target = (await rest_b.add(11))["id"]
            acked.add(target)
            for _ in range(15):
                await rest_b.vote(target)

            # Redis goes away mid-run: writes keep being acknowledged, the database carries them.
            redis_server.stop()
            for n in range(5):
                acked.add((await rest_c.add(12 + n))["id"])
                await rest_b.vote(target)
                await asyncio.to_thread(peer_a.cmd, "vote", item_id=target, delta=1)
            await converged([rest_a, rest_b, rest_c], acked)
            redis_server.start()

            # C is killed in the middle of a burst of writes.
            async def add_on_c(track_id: int) -> str | None:
                try:
                    return (await rest_c.add(track_id))["id"]
                except (httpx.HTTPError, AssertionError):
                    return None

            burst = [asyncio.create_task(add_on_c(17 + n)) for n in range(14)]
            await asyncio.sleep(0)  # the requests are on their way
            await asyncio.to_thread(c.kill)
            acked.update(item for item in await asyncio.gather(*burst) if item)
            for n in range(3):
                acked.add((await rest_a.add(31 + n))["id"])
                await rest_b.vote(target)

            items = await converged([rest_a, rest_b], acked)
            assert votes_of(items)[target] == 15 + 5 + 5 + 3
            expected = {item["id"] for item in items}
            for peer in (peer_a, peer_b):
                snapshot = await asyncio.to_thread(
                    peer.wait_for, {"by_id": {target: {"votes": 28}}}, 20.0
                )
                assert set(snapshot["by_id"]) == expected

            # Every listener on a live process saw each addition once (or in a snapshot).
            def missing(lst: Listener) -> set[str]:
                return expected - set(lst.added_ids()) - lst.snapshot_ids()

            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WAIT):
                    while missing(listen_a) or missing(listen_b):
                        await asyncio.sleep(0.05)
            for lst in (listen_a, listen_b):
                assert not missing(lst), (missing(lst), [m.get("type") for m in lst.messages])
            for lst in (listen_a, listen_b):
                added = lst.added_ids()
                assert len(added) == len(set(added)), "an addition was announced twice"
            assert len(listen_c.added_ids()) == len(set(listen_c.added_ids()))
