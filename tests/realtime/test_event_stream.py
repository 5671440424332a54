"""The legacy event stream (CONTRACT §3): WebSocket ``/ws/…`` and SSE ``…/stream``."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import websockets

from crdt.diff import BURST_ITEMS

from .conftest import (
    CONNECTED,
    EventSocket,
    LogWindow,
    Rest,
    event_socket,
    sse_stream,
    unique_name,
)
from .peer import ypeer

pytestmark = pytest.mark.timeout(120)


def event(type_: str, payload: dict, seq: int) -> dict:
    return {"type": type_, "payload": payload, "seq": seq}


def assert_event(message: dict, type_: str, payload: dict) -> int:
    """``message`` is exactly ``{"type", "payload", "seq"}`` with this type and payload."""
    assert set(message) == {"type", "payload", "seq"}, message
    assert message["type"] == type_, message
    assert message["payload"] == payload, (message["payload"], payload)
    assert type(message["seq"]) is int and message["seq"] > 0, message
    return message["seq"]


def assert_increasing(messages: list[dict]) -> None:
    seqs = [m["seq"] for m in messages]
    assert all(a < b for a, b in itertools.pairwise(seqs)), seqs


def parse_utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


async def sentinel(rest: Rest, ev: EventSocket, item_id: str) -> tuple[list[dict], dict]:
    """Make one known change (an up-vote) and return every event before it, and it.

    Events of one listener are ordered, so whatever precedes the sentinel's event is
    everything the earlier changes produced: this is how "exactly once" and "nothing
    else" are checked without sleeping.
    """
    voted = await rest.vote(item_id, "up")
    seen = await ev.until(lambda m: m.get("type") == "track.voted" and m["payload"] == voted)
    return seen[:-1], seen[-1]


# -- connecting ---------------------------------------------------------------------------


async def test_the_first_message_is_connection_established_on_both_paths(server, playlist):
    for name in (None, playlist):
        async with event_socket(server.ws_url, name, greeted=False) as ev:
            assert await ev.recv_json() == CONNECTED


async def test_a_connection_without_since_gets_the_whole_playlist_after_the_greeting(
    server, rest: Rest, playlist
):
    a = await rest.add(1)
    b = await rest.add(2)
    await rest.play(b["id"])
    async with event_socket(server.ws_url, playlist, greeted=False) as ev:
        assert await ev.next() == CONNECTED
        initial = await ev.next()
        seq = assert_event(initial, "playlist.updated", {"items": await rest.list()})
        assert [i["id"] for i in initial["payload"]["items"]] == [a["id"], b["id"]]
        before, voted = await sentinel(rest, ev, a["id"])
        assert before == [] and voted["seq"] == seq + 1


async def test_an_empty_playlist_is_announced_as_one_empty_playlist_updated(server, playlist):
    async with event_socket(server.ws_url, playlist) as ev:
        assert ev.initial is not None and ev.initial["payload"] == {"items": []}


async def test_an_invalid_playlist_name_on_the_event_socket_is_refused(server):
    # The handler closes before accepting, which ASGI servers turn into a refused handshake.
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with event_socket(server.ws_url, "bad.name", greeted=False):
            pass
    assert refused.value.response.status_code == 403


# -- every event type from REST ------------------------------------------------------------


async def test_rest_changes_become_events_with_exact_payloads_and_increasing_seq(
    server, rest: Rest, playlist
):
    async with event_socket(server.ws_url, playlist) as ev:
        got: list[dict] = []

        async def one(type_: str, payload: dict) -> None:
            message = await ev.next()
            assert_event(message, type_, payload)
            got.append(message)

        a = await rest.add(1, added_by="alice")
        await one("track.added", a)
        assert a["added_by"] == "alice" and a["votes"] == 0 and a["is_playing"] is False
        b = await rest.add(2)
        await one("track.added", b)
        assert b["position"] == a["position"] + 1

        moved = await rest.patch(b["id"], position=0.25)
        assert moved["position"] == 0.25
        await one("track.moved", moved)

        up = await rest.vote(a["id"], "up")
        assert up["votes"] == 1
        await one("track.voted", up)
        for expected in (0, -1):
            down = await rest.vote(a["id"], "down")
            assert down["votes"] == expected
            await one("track.voted", down)

        playing = await rest.play(a["id"])
        assert playing["is_playing"] is True and playing["played_at"] is not None
        await one("track.playing", playing)

        # PATCH is_playing: true plays b; a stops playing with no event of its own.
        playing_b = await rest.patch(b["id"], is_playing=True)
        assert playing_b["is_playing"] is True
        await one("track.playing", playing_b)
        assert (await rest.get(a["id"]))["is_playing"] is False

        # Stop by PATCH is_playing: false, then by POST stop/.
        stopped = await rest.patch(b["id"], is_playing=False)
        assert stopped["is_playing"] is False
        await one("track.playing", {"id": b["id"], "is_playing": False})
        await rest.play(a["id"])
        await one("track.playing", await rest.get(a["id"]))
        assert await rest.stop() == {"status": "stopped"}
        await one("track.playing", {"id": a["id"], "is_playing": False})

        # Stopping when nothing plays changes nothing: no event.
        await rest.stop()
        before, voted = await sentinel(rest, ev, a["id"])
        assert before == []
        got.append(voted)

        # Removing the playing item: it is removed and playback stops.
        await rest.play(b["id"])
        await one("track.playing", await rest.get(b["id"]))
        await rest.delete(b["id"])
        pair = await ev.take(2)
        got += pair
        by_type = {m["type"]: m for m in pair}
        assert set(by_type) == {"track.removed", "track.playing"}, pair
        assert_event(by_type["track.removed"], "track.removed", {"id": b["id"]})
        assert_event(
            by_type["track.playing"], "track.playing", {"id": b["id"], "is_playing": False}
        )

        # Removing an item that is not playing: only track.removed.
        c = await rest.add(3)
        await one("track.added", c)
        await rest.delete(c["id"])
        await one("track.removed", {"id": c["id"]})
        before, voted = await sentinel(rest, ev, a["id"])
        assert before == []
        got.append(voted)

        assert_increasing(got)
        assert await rest.list() == [await rest.get(a["id"])]


async def test_a_patch_of_position_and_is_playing_gives_one_event_of_each(
    server, rest: Rest, playlist
):
    a = await rest.add(4)
    await rest.add(5)
    async with event_socket(server.ws_url, playlist) as ev:
        item = await rest.patch(a["id"], position=10, is_playing=True)
        before, _ = await sentinel(rest, ev, a["id"])
        assert sorted(m["type"] for m in before) == ["track.moved", "track.playing"], before
        for message in before:
            assert_event(message, message["type"], item)
        assert_increasing(before)


async def test_two_listeners_get_each_event_exactly_once(server, rest: Rest, playlist):
    a = await rest.add(6)
    async with (
        event_socket(server.ws_url, playlist) as one,
        event_socket(server.ws_url, playlist) as two,
    ):
        b = await rest.add(7)
        await rest.vote(b["id"], "up")
        await rest.patch(a["id"], position=5)
        await rest.play(a["id"])
        await rest.delete(b["id"])
        first, end1 = await sentinel(rest, one, a["id"])
        second, end2 = await sentinel(rest, two, a["id"])
    # One sentinel call per listener: the second listener also saw the first sentinel.
    assert second[: len(first)] == first
    assert second[len(first)] == end1
    assert end2["seq"] > end1["seq"]
    types = [m["type"] for m in first]
    assert types == [
        "track.added",
        "track.voted",
        "track.moved",
        "track.playing",
        "track.removed",
    ], types
    assert_increasing([*first, end1, end2])
    assert len({m["seq"] for m in first}) == len(first)


# -- resuming ---------------------------------------------------------------------------------


async def test_since_replays_exactly_the_missed_events(server, rest: Rest, playlist):
    a = await rest.add(8)
    async with event_socket(server.ws_url, playlist) as witness:
        async with event_socket(server.ws_url, playlist) as ev:
            await rest.vote(a["id"], "up")
            last_seen = (await ev.next())["seq"]
        # Missed while disconnected:
        b = await rest.add(9)
        await rest.patch(b["id"], position=0.5)
        await rest.play(b["id"])
        await rest.vote(a["id"], "down")
        seen_live = await witness.take(5)
        missed = [m for m in seen_live if m["seq"] > last_seen]
        assert [m["type"] for m in missed] == [
            "track.added",
            "track.moved",
            "track.playing",
            "track.voted",
        ]
        async with event_socket(server.ws_url, playlist, since=last_seen) as again:
            assert await again.take(len(missed)) == missed
            # Then the live stream, with nothing replayed twice.
            before, voted = await sentinel(rest, again, a["id"])
            assert before == []
            assert voted["seq"] > missed[-1]["seq"]


async def test_since_the_current_seq_replays_nothing(server, rest: Rest, playlist):
    a = await rest.add(10)
    async with event_socket(server.ws_url, playlist) as ev:
        current = (await sentinel(rest, ev, a["id"]))[1]["seq"]
    async with event_socket(server.ws_url, playlist, since=current) as ev:
        before, voted = await sentinel(rest, ev, a["id"])
        assert before == []
        assert voted["seq"] > current


@pytest.mark.parametrize("since", ["future", "-1"])
async def test_an_unknown_since_gets_one_snapshot_of_all_items(server, rest: Rest, playlist, since):
    a = await rest.add(11)
    b = await rest.add(12)
    await rest.play(b["id"])
    async with event_socket(server.ws_url, playlist) as ev:
        current = (await sentinel(rest, ev, a["id"]))[1]["seq"]
    value = current + 10_000 if since == "future" else int(since)
    async with event_socket(server.ws_url, playlist, since=value) as ev:
        snapshot = await ev.next()
        assert_event(snapshot, "playlist.updated", {"items": await rest.list()})
        assert len(snapshot["payload"]["items"]) == 2
        assert snapshot["seq"] >= current
        before, voted = await sentinel(rest, ev, a["id"])
        assert before == []
        assert voted["seq"] > snapshot["seq"]


async def test_after_a_restart_seq_keeps_increasing_and_an_old_since_gets_a_snapshot(make_server):
    first = make_server()
    name = unique_name("restart")
    async with httpx.AsyncClient(base_url=first.base_url, timeout=30) as client:
        rest = Rest(client, name)
        async with event_socket(first.ws_url, name) as ev:
            a = await rest.add(1)
            await rest.add(2)
            await rest.vote(a["id"], "up")
            await rest.play(a["id"])
            seqs = [m["seq"] for m in await ev.take(4)]
        before_restart = await rest.list()
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    first.kill()  # a crash: every answered REST write is committed

    second = make_server(db_path=first.db_path, seed=False)
    async with httpx.AsyncClient(base_url=second.base_url, timeout=30) as client:
        rest = Rest(client, name)
        assert await rest.list() == before_restart
        async with event_socket(second.ws_url, name, since=seqs[0]) as ev:
            snapshot = await ev.next()
            assert_event(snapshot, "playlist.updated", {"items": before_restart})
            assert snapshot["seq"] >= seqs[-1]
            voted = await rest.vote(a["id"], "up")
            after = await ev.next()
            assert_event(after, "track.voted", voted)
            assert after["seq"] > seqs[-1] and after["seq"] > snapshot["seq"]
    assert "Traceback" not in second.log()


# -- what clients send ----------------------------------------------------------------------


@pytest.mark.parametrize("ts", [123, "abc", {"n": [1, 2]}, None])
async def test_a_client_ping_gets_a_pong_echoing_ts(server, playlist, ts):
    async with event_socket(server.ws_url, playlist) as ev:
        await ev.send_json({"type": "ping", "ts": ts})
        assert await ev.next() == {"type": "pong", "ts": ts}


NESTED = "[" * 100_000 + "]" * 100_000

JUNK = {
    "not-json": "hello there",
    "truncated-json": '{"type": "ping", "ts":',
    "empty": "",
    "array": "[1, 2, 3]",
    "null": "null",
    "number": "42",
    "string": '"ping"',
    "unknown-type": '{"type": "subscribe", "playlist": "x"}',
    "type-not-a-string": '{"type": 5}',
    "no-type": '{"ts": 1}',
    "nan": '{"type": NaN}',
    "ping-with-nan": '{"type": "ping", "ts": NaN}',  # not JSON: no pong echoing it
    "ping-with-infinity": '{"type": "ping", "ts": -Infinity}',
    "huge-json": json.dumps({"type": "blob", "data": "x" * 900_000}),
    "deeply-nested-json": NESTED,
    "binary-garbage": b"\x00\xff\xfe\x81garbage",
    "binary-empty": b"",
}


@pytest.mark.parametrize("junk", list(JUNK), ids=list(JUNK))
async def test_junk_from_the_client_is_ignored_and_the_connection_keeps_working(
    server, rest: Rest, playlist, junk
):
    log = LogWindow(server)
    a = await rest.add(13)
    async with event_socket(server.ws_url, playlist) as ev:
        await ev.ws.send(JUNK[junk])
        # Pings are answered in order: the pong proves the junk was read and ignored.
        await ev.send_json({"type": "ping", "ts": "after"})
        assert await ev.next() == {"type": "pong", "ts": "after"}
        before, _ = await sentinel(rest, ev, a["id"])
        assert before == []
    log.assert_clean()


async def test_heartbeats_arrive_on_websocket_and_sse_and_the_default_playlist_works(fast_server):
    base, ws = fast_server.base_url, fast_server.ws_url
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as client,
        event_socket(ws, None) as ev,
        sse_stream(base, None) as sse,
    ):
        # Two heartbeats in a row on the idle socket, each {"type": "ping", "ts": ISO UTC}.
        for _ in range(2):
            beat = await ev.recv_json(timeout=5)
            assert set(beat) == {"type", "ts"} and beat["type"] == "ping", beat
            assert abs(datetime.now(UTC) - parse_utc(beat["ts"])) < timedelta(seconds=30)
        first = await sse.next_raw()
        assert first["event"] == "connection.established"
        assert json.loads(first["data"]) == CONNECTED
        initial = await sse.next_raw()
        assert initial["event"] == "playlist.updated"
        assert json.loads(initial["data"]) == ev.initial
        beat = await sse.next_raw(timeout=5)
        assert beat["event"] == "ping", beat
        assert json.loads(beat["data"])["type"] == "ping"
        # /api/playlist/ is the playlist of /ws/playlist/ and /api/stream.
        rest = Rest(client, None)
        item = await rest.add(14)
        message = await ev.next()
        assert_event(message, "track.added", item)
        sse_event = await sse.next()
        assert sse_event == {
            "event": "track.added",
            "id": str(message["seq"]),
            "data": sse_event["data"],
        }
        assert json.loads(sse_event["data"]) == message
    assert "Traceback" not in fast_server.log()


# -- Server-Sent Events --------------------------------------------------------------------


async def test_sse_events_carry_type_seq_and_the_same_json(server, rest: Rest, playlist):
    a = await rest.add(15)
    async with (
        event_socket(server.ws_url, playlist) as ev,
        sse_stream(server.base_url, playlist) as sse,
    ):
        first = await sse.next()
        assert first["event"] == "connection.established" and "id" not in first
        assert json.loads(first["data"]) == CONNECTED
        initial = await sse.next()
        assert initial == {
            "event": "playlist.updated",
            "id": initial["id"],
            "data": initial["data"],
        }
        assert json.loads(initial["data"]) == ev.initial
        assert_event(ev.initial, "playlist.updated", {"items": [a]})
        await rest.vote(a["id"], "up")
        await rest.play(a["id"])
        await rest.delete(a["id"])
        messages = await ev.take(4)
        for message in messages:
            got = await sse.next()
            assert set(got) == {"event", "id", "data"}, got
            assert got["event"] == message["type"]
            assert got["id"] == str(message["seq"])
            assert json.loads(got["data"]) == message


@pytest.mark.parametrize("how", ["since", "last-event-id"])
async def test_sse_resumes_with_since_or_last_event_id(server, rest: Rest, playlist, how):
    a = await rest.add(16)
    async with event_socket(server.ws_url, playlist) as ev:
        last_seen = (await sentinel(rest, ev, a["id"]))[1]["seq"]
        b = await rest.add(17)
        await rest.patch(b["id"], position=0)
        missed = await ev.take(2)
    resume = {"since": last_seen} if how == "since" else {"last_event_id": last_seen}
    async with sse_stream(server.base_url, playlist, **resume) as sse:
        assert (await sse.next())["event"] == "connection.established"
        for message in missed:
            got = await sse.next()
            assert got == {
                "event": message["type"],
                "id": str(message["seq"]),
                "data": got["data"],
            }
            assert json.loads(got["data"]) == message
        voted = await rest.vote(a["id"], "down")
        live = await sse.next()
        assert live["event"] == "track.voted" and int(live["id"]) > missed[-1]["seq"]
        assert json.loads(live["data"])["payload"] == voted


async def test_sse_with_an_unknown_last_event_id_gets_a_snapshot(server, rest: Rest, playlist):
    await rest.add(18)
    await rest.add(19)
    async with sse_stream(server.base_url, playlist, last_event_id=10**9) as sse:
        assert (await sse.next())["event"] == "connection.established"
        snapshot = await sse.next()
        assert snapshot["event"] == "playlist.updated"
        data = json.loads(snapshot["data"])
        assert_event(data, "playlist.updated", {"items": await rest.list()})
        assert snapshot["id"] == str(data["seq"])


# -- one change touching many items ----------------------------------------------------------


async def test_a_peer_moving_many_items_in_one_transaction_gives_one_playlist_updated(
    server, rest: Rest, playlist
):
    items = [await rest.add(track) for track in range(20, 25)]
    assert len(items) > BURST_ITEMS
    async with (
        event_socket(server.ws_url, playlist) as ev,
        ypeer(server.ws_url, playlist) as peer,
    ):
        await peer.wait_until(lambda: len(peer.items) == 5)
        with peer.doc.transaction():
            for index, item in enumerate(items):
                peer.move(item["id"], 100.0 - index)  # reverse the order
        reordered = await ev.next()
        after = await rest.list()
        assert [i["id"] for i in after] == [i["id"] for i in reversed(items)]
        assert_event(reordered, "playlist.updated", {"items": after})
        before, voted = await sentinel(rest, ev, items[0]["id"])
        assert before == []
        assert voted["seq"] > reordered["seq"]

        # At most BURST_ITEMS touched: one event per item.
        with peer.doc.transaction():
            peer.move(items[0]["id"], 1.0)
            peer.move(items[1]["id"], 2.0)
        before, _ = await sentinel(rest, ev, items[0]["id"])
        assert [m["type"] for m in before] == ["track.moved", "track.moved"], before
        assert {m["payload"]["id"] for m in before} == {items[0]["id"], items[1]["id"]}
