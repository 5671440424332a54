"""Auto-sort by votes (the seed's AUTO_SORT_BY_VOTES; CONTRACT §2 settings route, §5 settings):
per playlist, in the document, the same from REST, the event stream and a Yjs peer."""

from __future__ import annotations

import httpx
import pytest
from pycrdt import Map

from tests.api.conftest import assert_error

from .conftest import Rest, event_socket, unique_name, wait_rest
from .peer import ypeer

pytestmark = pytest.mark.timeout(120)


async def _settings(rest: Rest, **body) -> dict:
    method = "PATCH" if body else "GET"
    return await rest._ok(method, rest.url("settings"), json=body or None)


async def test_auto_sort_orders_by_votes_then_position_and_a_change_of_mode_is_one_snapshot(
    server, rest: Rest, playlist
):
    a, b, c = [await rest.add(track) for track in (1, 2, 3)]
    await rest.vote(c["id"], "up")
    await rest.vote(c["id"], "up")
    await rest.vote(b["id"], "up")
    assert await _settings(rest) == {"auto_sort_by_votes": False}
    assert [i["id"] for i in await rest.list()] == [a["id"], b["id"], c["id"]]
    async with event_socket(server.ws_url, playlist) as ev:
        assert await _settings(rest, auto_sort_by_votes=True) == {"auto_sort_by_votes": True}
        updated = await ev.next()
        items = await rest.list()
        assert [i["id"] for i in items] == [c["id"], b["id"], a["id"]]
        assert updated["type"] == "playlist.updated" and updated["payload"] == {"items": items}
        # Positions are untouched: auto-sort is an order, not a respread.
        assert [i["position"] for i in items] == [3.0, 2.0, 1.0]
        # An append still goes after the last position.
        d = await rest.add(4)
        assert d["position"] == 4.0
        assert (await ev.next())["type"] == "track.added"
        assert [i["id"] for i in await rest.list()] == [c["id"], b["id"], a["id"], d["id"]]
        assert await _settings(rest, auto_sort_by_votes=False) == {"auto_sort_by_votes": False}
        assert (await ev.next())["type"] == "playlist.updated"
    assert [i["id"] for i in await rest.list()] == [a["id"], b["id"], c["id"], d["id"]]


async def test_a_yjs_peer_sees_and_sets_the_mode(server, rest: Rest, playlist):
    a = await rest.add(5)
    b = await rest.add(6)
    await rest.vote(b["id"], "up")
    async with ypeer(server.ws_url, playlist) as peer:
        settings = peer.doc.get("settings", type=Map)
        await peer.wait_until(lambda: settings.get("auto_sort_by_votes") is False)
        await _settings(rest, auto_sort_by_votes=True)
        await peer.wait_until(lambda: settings.get("auto_sort_by_votes") is True)
        settings["auto_sort_by_votes"] = False
        await wait_rest(rest, lambda items: [i["id"] for i in items] == [a["id"], b["id"]])
        assert await _settings(rest) == {"auto_sort_by_votes": False}


@pytest.mark.parametrize(
    "body", [{"auto_sort_by_votes": 1}, {"auto_sort_by_votes": "yes"}, {"x": 1}]
)
async def test_a_bad_settings_patch_is_a_400(server, rest: Rest, body):
    response = await rest.client.patch(rest.url("settings"), json=body)
    assert_error(response, 400, "VALIDATION_ERROR")


async def test_the_environment_sets_the_default_of_new_playlists(make_server):
    proc = make_server(PLAYSYNC_AUTO_SORT_BY_VOTES="1")
    async with httpx.AsyncClient(base_url=proc.base_url, timeout=30) as client:
        rest = Rest(client, unique_name("sort"))
        assert await _settings(rest) == {"auto_sort_by_votes": True}
        a = await rest.add(1)
        b = await rest.add(2)
        await rest.vote(b["id"], "up")
        assert [i["id"] for i in await rest.list()] == [b["id"], a["id"]]
        # The default is written into the document with the first write: Yjs peers see it.
        async with ypeer(proc.ws_url, rest.base.rsplit("/", 1)[1]) as peer:
            settings = peer.doc.get("settings", type=Map)
            await peer.wait_until(lambda: settings.get("auto_sort_by_votes") is True)
