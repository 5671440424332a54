"""A playlist left idle goes dormant (``--dormant-seconds``) and still serves everyone.

GET and the event stream are served from what a dormant room keeps; a REST write, a Yjs
peer or a resume wakes it or reads its kept events, and nothing is lost or reordered.
``/metrics`` says how many rooms are dormant.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pycrdt import Doc

from .conftest import WAIT, Rest, by_id, event_socket, wait_rest
from .peer import ypeer

pytestmark = pytest.mark.timeout(120)

DORMANT_AFTER = "0.2"  # seconds


async def dormant_rooms(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        if family.name == "playsync_rooms_dormant":
            return family.samples[0].value
    raise AssertionError("no playsync_rooms_dormant series")


async def until_dormant(client: httpx.AsyncClient) -> None:
    async with asyncio.timeout(WAIT):
        while await dormant_rooms(client) < 1:
            await asyncio.sleep(0.05)


@pytest.fixture
def dormant_server(make_server):
    return make_server("--no-seed", "--dormant-seconds", DORMANT_AFTER)


async def test_a_dormant_playlist_serves_rest_the_event_stream_and_peers(
    dormant_server, playlist: str
):
    server = dormant_server
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        rest = Rest(client, playlist)
        a, b = await rest.add(1, added_by="ada"), await rest.add(2)
        await rest.vote(b["id"], "up")
        await rest.play(a["id"])
        before = await rest.list()
        await until_dormant(client)

        assert await rest.list() == before
        assert await dormant_rooms(client) == 1  # a GET does not wake it

        async with event_socket(server.ws_url, playlist) as events:
            assert events.initial is not None
            assert events.initial["payload"]["items"] == before
            seq = events.initial["seq"]
            assert await dormant_rooms(client) == 1  # nor does a listener
            c = await rest.add(3)  # a write does
            added = await events.next()
            assert added == {"type": "track.added", "payload": c, "seq": seq + 1}
        await until_dormant(client)

        async with ypeer(server.ws_url, playlist) as peer:
            await peer.wait_until(lambda: len(peer.items) == 3)
            assert peer.votes(b["id"]) == 1 and peer.now_playing() == a["id"]
            peer.vote(c["id"], +1)
            await wait_rest(rest, lambda items: by_id(items)[c["id"]]["votes"] == 1)
        await until_dormant(client)

        # What a listener missed meanwhile is still there to resume from, in order.
        async with event_socket(server.ws_url, playlist, since=seq + 1) as events:
            voted = await events.next()
            assert (voted["type"], voted["seq"]) == ("track.voted", seq + 2)
            assert voted["payload"] == by_id(await rest.list())[c["id"]]


async def test_a_peer_that_synced_before_the_sleep_takes_the_servers_later_writes(
    dormant_server, playlist: str
):
    server = dormant_server
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        rest = Rest(client, playlist)
        first = await rest.add(1)
        await rest.vote(first["id"], "up")
        doc = Doc()
        async with ypeer(server.ws_url, playlist, doc=doc) as peer:
            await peer.wait_until(lambda: peer.votes(first["id"]) == 1)
        await until_dormant(client)

        # The server writes again (the same vote key, then a new item) after waking...
        await rest.vote(first["id"], "up")
        second = await rest.add(2)
        await until_dormant(client)
        # ...and the peer, back with what it had, takes them as new.
        async with ypeer(server.ws_url, playlist, doc=doc) as peer:
            await peer.wait_until(lambda: second["id"] in peer.items)
            await peer.wait_until(lambda: peer.votes(first["id"]) == 2)
            peer.vote(second["id"], +1)
            await wait_rest(rest, lambda items: by_id(items)[second["id"]]["votes"] == 1)
        assert [item["id"] for item in await rest.list()] == [first["id"], second["id"]]
