"""The original React frontend, unchanged, against playsync ``--paginate`` (issue #12).

Every case leaves such a client's view equal to ``GET /api/playlist/``: an offline Yjs
replica merging, two users adding at the same moment and then a drag, a server restart,
a slow reader under a burst. See :mod:`tests.legacy.frontend` for what it does.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pycrdt import Doc, Map

from tests.conftest import ServerProcess, seed_tracks
from tests.realtime.peer import now_iso, ypeer

from .frontend import OriginalFrontend

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def legacy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db: Path = tmp_path_factory.mktemp("legacy") / "playsync.db"
    proc = ServerProcess(db_path=db, args=("--no-seed", "--paginate"))
    seed_tracks(proc.database_url)
    proc.start()
    yield proc
    proc.stop()


@contextlib.asynccontextmanager
async def frontends(
    proc: ServerProcess, name: str, count: int = 2, **kwargs
) -> AsyncIterator[list[OriginalFrontend]]:
    started = [OriginalFrontend(proc.base_url, proc.ws_url, name, **kwargs) for _ in range(count)]
    try:
        for frontend in started:
            await frontend.start()
        yield started
    finally:
        for frontend in started:
            await frontend.close()


def assert_never_gave_up(*clients: OriginalFrontend) -> None:
    for client in clients:
        assert not client.gave_up, client.closes
        assert set(client.closes) <= {1000, 1006}, client.closes


async def test_an_offline_yjs_replica_merging_five_items(legacy_server):
    name = f"legacy-{uuid.uuid4().hex[:8]}"
    async with frontends(legacy_server, name) as (alice, bob):
        await alice.add(1)
        await bob.settled()
        replica = Doc()
        async with ypeer(legacy_server.ws_url, name, doc=replica) as peer:
            await peer.wait_until(lambda: len(peer.items) == 1)
        # Offline: five items added in five transactions, then one merge on reconnect.
        items = replica.get("items", type=Map)
        for track in range(2, 7):
            with replica.transaction():
                items[str(uuid.uuid4())] = Map(
                    {
                        "track_id": float(track),
                        "position": float(track),
                        "added_by": "offline",
                        "added_at": now_iso(),
                        "played_at": None,
                        "votes": Map(),
                    }
                )
        async with ypeer(legacy_server.ws_url, name, doc=replica):
            rest = await alice.settled()
            assert len(rest) == 6
            assert await bob.settled() == rest
        assert alice.seen["playlist.updated"] >= 2  # on connect, then the merge
        assert_never_gave_up(alice, bob)


async def test_two_adds_at_the_same_moment_then_a_drag_land_where_the_user_dropped(legacy_server):
    name = f"legacy-{uuid.uuid4().hex[:8]}"
    async with frontends(legacy_server, name) as (alice, bob):
        for track in (1, 2, 3):
            await alice.add(track)
        await bob.settled()
        # Both compute "their last + 1" from the same view: the same position twice.
        await asyncio.gather(alice.add(4), bob.add(5))
        assert alice.sent_positions[-1] == bob.sent_positions[-1] == 4.0
        rest = await alice.settled()
        assert await bob.settled() == rest
        assert len({item["position"] for item in rest}) == len(rest)  # respread
        # Bob drags the last item between the first two of his own view.
        first, second, last = rest[0]["id"], rest[1]["id"], rest[-1]["id"]
        await bob.move(last, (first, second))
        rest = await bob.settled()
        assert [item["id"] for item in rest][:3] == [first, last, second]
        assert await alice.settled() == rest
        assert_never_gave_up(alice, bob)


async def test_play_and_stop_reconnects_lose_nothing(legacy_server):
    name = f"legacy-{uuid.uuid4().hex[:8]}"
    async with frontends(legacy_server, name) as (alice, bob):
        a = await alice.add(1)
        b = await alice.add(2)
        await bob.settled()
        for _ in range(3):  # alice's socket drops after each; bob keeps changing things
            await asyncio.gather(alice.play(a["id"]), bob.vote(b["id"]))
            await asyncio.gather(alice.stop(), bob.vote(a["id"], "down"))
        rest = await alice.settled()
        assert await bob.settled() == rest
        assert alice.connections == 7
        assert_never_gave_up(alice, bob)


async def test_a_server_restart(tmp_path: Path):
    proc = ServerProcess(db_path=tmp_path / "restart.db", args=("--no-seed", "--paginate"))
    seed_tracks(proc.database_url)
    proc.start()
    name = "legacy-restart"
    try:
        async with frontends(proc, name) as (alice, bob):
            a = await alice.add(1)
            await alice.add(2)
            await bob.settled()
            proc.stop()  # SIGTERM: a graceful restart
            proc.start()
            # A change made before the frontends are back: they must not miss it.
            await alice.vote(a["id"])
            await alice.add(3)
            await alice.wait_connected(2)
            await bob.wait_connected(2)
            rest = await alice.settled()
            assert await bob.settled() == rest and len(rest) == 3
            proc.kill()  # and a crash
            proc.start()
            await bob.vote(a["id"], "down")
            await alice.wait_connected(3)
            await bob.wait_connected(3)
            rest = await alice.settled()
            assert await bob.settled() == rest
            assert_never_gave_up(alice, bob)
    finally:
        proc.stop()


async def test_a_slow_reader_under_a_burst_gets_the_playlist_not_a_close(legacy_server):
    name = f"legacy-{uuid.uuid4().hex[:8]}"
    async with (
        frontends(legacy_server, name, count=1) as (fast,),
        frontends(legacy_server, name, count=1, small_buffer=True) as (slow,),
        ypeer(legacy_server.ws_url, name) as peer,
    ):
        # Each event carries the whole item: long names make the burst weigh megabytes.
        ids = [peer.add(track, float(track), added_by="y" * 1000) for track in range(1, 6)]
        await fast.settled()
        await slow.settled()
        slow.reading.clear()  # it stops reading for a while
        for round_ in range(600):  # 3000 updates, each its own transaction and event
            for item_id in ids:
                peer.vote(item_id)
            if round_ % 100 == 0:
                await asyncio.sleep(0)
        rest = await wait_total(fast, 3000)
        assert await fast.settled(timeout=60) == rest
        slow.reading.set()
        assert await slow.settled(timeout=60) == rest
    assert fast.connections == 1 and slow.connections == 1, (fast.closes, slow.closes)
    assert slow.seen["playlist.updated"] >= 2, slow.seen  # its backlog became a snapshot
    assert fast.seen["track.voted"] > 0, fast.seen


async def wait_total(frontend: OriginalFrontend, votes: int, timeout: float = 60) -> list[dict]:
    """Poll REST until the playlist's votes add up to ``votes``."""
    async with asyncio.timeout(timeout):
        while True:
            rest = await frontend.rest_list()
            if sum(item["votes"] for item in rest) == votes:
                return rest
            await asyncio.sleep(0.05)
