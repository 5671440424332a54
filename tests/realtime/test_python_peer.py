"""A Python Yjs peer (``pycrdt.Provider`` over httpx-ws) on ``/yjs/{name}`` (CONTRACT §4, §5).

The peer, REST and the event stream all show one document: whatever the peer writes
appears in REST and as the same events a REST change makes, and the other way round.
"""

from __future__ import annotations

import itertools

import pytest

from .conftest import LogWindow, Rest, by_id, event_socket, wait_rest
from .peer import ypeer

pytestmark = pytest.mark.timeout(120)


async def test_the_peer_sees_the_rest_state(server, rest: Rest, playlist):
    a = await rest.add(1, added_by="alice")
    b = await rest.add(2)
    await rest.vote(b["id"], "up")
    await rest.vote(b["id"], "up")
    await rest.play(a["id"])
    async with ypeer(server.ws_url, playlist) as peer:
        await peer.wait_until(lambda: len(peer.items) == 2)
        item_a, item_b = peer.item(a["id"]), peer.item(b["id"])
        assert item_a is not None and item_b is not None
        assert int(item_a["track_id"]) == 1 and item_a["added_by"] == "alice"
        assert item_a["position"] == a["position"] and item_b["position"] == b["position"]
        assert item_a["added_at"] == a["added_at"]
        assert peer.votes(b["id"]) == 2 and peer.votes(a["id"]) == 0
        assert peer.now_playing() == a["id"]
        assert item_a["played_at"] is not None


async def test_peer_edits_appear_in_rest_and_as_events(server, rest: Rest, playlist):
    log = LogWindow(server)
    existing = await rest.add(3)
    async with (
        event_socket(server.ws_url, playlist) as ev,
        ypeer(server.ws_url, playlist) as peer,
    ):
        await peer.wait_until(lambda: existing["id"] in peer.items)

        # add
        new_id = peer.add(4, existing["position"] + 1, added_by="py")
        added = await ev.next()
        items = by_id(await rest.list())
        assert added == {"type": "track.added", "payload": items[new_id], "seq": added["seq"]}
        assert items[new_id]["track"]["id"] == 4 and items[new_id]["added_by"] == "py"
        assert items[new_id]["votes"] == 0 and items[new_id]["is_playing"] is False
        seqs = [added["seq"]]

        # vote: the peer's own key, on top of a REST vote: both are track.voted
        rest_voted = await rest.vote(new_id, "up")
        message = await ev.next()
        assert message["type"] == "track.voted" and message["payload"] == rest_voted
        seqs.append(message["seq"])
        peer.vote(new_id, +1)
        message = await ev.next()
        assert message["type"] == "track.voted", message
        assert message["payload"] == await rest.get(new_id)
        assert message["payload"]["votes"] == 2
        seqs.append(message["seq"])
        peer.vote(new_id, -1)
        peer.vote(new_id, -1)
        for expected in (1, 0):
            message = await ev.next()
            assert message["type"] == "track.voted" and message["payload"]["votes"] == expected
            seqs.append(message["seq"])
        assert (await rest.get(new_id))["votes"] == 0
        assert peer.item(new_id)["votes"][peer.key] == -1  # the peer's net total

        # move
        peer.move(new_id, existing["position"] - 1)
        message = await ev.next()
        moved = await rest.get(new_id)
        assert moved["position"] == existing["position"] - 1
        assert message == {"type": "track.moved", "payload": moved, "seq": message["seq"]}
        assert [i["id"] for i in await rest.list()] == [new_id, existing["id"]]
        seqs.append(message["seq"])

        # play
        peer.play(new_id)
        message = await ev.next()
        playing = await rest.get(new_id)
        assert playing["is_playing"] is True and playing["played_at"] is not None
        assert message == {"type": "track.playing", "payload": playing, "seq": message["seq"]}
        seqs.append(message["seq"])

        # remove the playing item: removed, and playback stops
        peer.remove(new_id)
        pair = await ev.take(2)
        assert sorted(m["type"] for m in pair) == ["track.playing", "track.removed"], pair
        for m in pair:
            expected = {"id": new_id}
            if m["type"] == "track.playing":
                expected["is_playing"] = False
            assert m["payload"] == expected
        seqs += [m["seq"] for m in pair]
        assert [i["id"] for i in await rest.list()] == [existing["id"]]
        assert all(a < b for a, b in itertools.pairwise(seqs)), seqs

        # Nothing else was sent for all of that.
        voted = await rest.vote(existing["id"], "up")
        message = await ev.next()
        assert message["type"] == "track.voted" and message["payload"] == voted
    assert "Traceback" not in log.text()


async def test_rest_changes_reach_the_peer(server, rest: Rest, playlist):
    async with ypeer(server.ws_url, playlist) as peer:
        a = await rest.add(5)
        await peer.wait_until(lambda: a["id"] in peer.items)
        assert int(peer.item(a["id"])["track_id"]) == 5
        await rest.vote(a["id"], "down")
        await peer.wait_until(lambda: peer.votes(a["id"]) == -1)
        await rest.patch(a["id"], position=42.5)
        await peer.wait_until(lambda: peer.item(a["id"])["position"] == 42.5)
        await rest.play(a["id"])
        await peer.wait_until(lambda: peer.now_playing() == a["id"])
        assert peer.item(a["id"])["played_at"] is not None
        await rest.stop()
        await peer.wait_until(lambda: peer.now_playing() is None)
        await rest.delete(a["id"])
        await peer.wait_until(lambda: a["id"] not in peer.items)


async def test_two_peers_and_rest_converge(server, rest: Rest, playlist):
    async with (
        ypeer(server.ws_url, playlist) as one,
        ypeer(server.ws_url, playlist) as two,
    ):
        x = one.add(6, 1.0)
        y = two.add(7, 2.0)
        await one.wait_until(lambda: y in one.items)
        await two.wait_until(lambda: x in two.items)
        one.vote(y, +1)
        two.vote(y, +1)
        await rest.vote(y, "up")
        for peer in (one, two):
            await peer.wait_until(lambda p=peer: p.votes(y) == 3)
        items = await wait_rest(rest, lambda items: len(items) == 2)
        assert [i["id"] for i in items] == [x, y]
        assert by_id(items)[y]["votes"] == 3


async def test_a_peer_play_without_played_at_is_stamped_by_the_server(server, rest: Rest, playlist):
    async with ypeer(server.ws_url, playlist) as peer:
        item_id = peer.add(8, 1.0)
        peer.play(item_id, stamp=False)
        items = await wait_rest(
            rest, lambda items: bool(items) and items[0]["played_at"] is not None
        )
        assert items[0]["is_playing"] is True
        await peer.wait_until(lambda: peer.item(item_id)["played_at"] is not None)


async def test_one_peer_transaction_moving_five_items_is_one_playlist_updated_event(
    server, rest: Rest, playlist
):
    async with ypeer(server.ws_url, playlist) as peer:
        ids = [peer.add(track, float(track)) for track in range(10, 15)]
        await wait_rest(rest, lambda items: len(items) == 5)
        async with event_socket(server.ws_url, playlist) as ev:
            with peer.doc.transaction():
                for index, item_id in enumerate(ids):
                    peer.move(item_id, 50.0 - index)
            message = await ev.next()
            items = await rest.list()
            assert [i["id"] for i in items] == ids[::-1]
            assert message == {
                "type": "playlist.updated",
                "payload": {"items": items},
                "seq": message["seq"],
            }
            voted = await rest.vote(ids[0], "up")
            following = await ev.next()
            assert following["type"] == "track.voted" and following["payload"] == voted
            assert following["seq"] > message["seq"]
