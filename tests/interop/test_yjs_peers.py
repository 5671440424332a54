"""Real JavaScript Yjs peers (yjs + y-websocket under Node) against a real playsync server.

Each peer is a ``node peer.mjs`` process (see ``peers.py``); each test uses its own
playlist. Nothing sleeps for a fixed time: every wait is a condition with a deadline,
polled over REST or awaited inside the peer (``wait_for``).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from websockets.sync.client import connect as ws_connect

from .peers import NodePeer, PeerError, deadline_loop, run_swarm

FIELDS = ("id", "track_id", "position", "votes", "added_by", "added_at", "played_at", "is_playing")


# -- helpers -----------------------------------------------------------------------------


def norm(items: list[dict]) -> list[dict]:
    """The fields a peer and REST must agree on (REST adds the library's track object)."""
    return [{field: item.get(field) for field in FIELDS} for item in items]


def rest_items(api: httpx.Client, name: str) -> list[dict]:
    response = api.get(f"/api/playlists/{name}/")
    assert response.status_code == 200, response.text
    return response.json()


def wait_rest(
    api: httpx.Client,
    name: str,
    predicate: Callable[[list[dict]], bool],
    what: str,
    timeout: float = 15.0,
) -> list[dict]:
    last: list[dict] = []
    for _ in deadline_loop(timeout):
        last = rest_items(api, name)
        if predicate(last):
            return last
    raise AssertionError(f"REST never showed {what} within {timeout}s; last: {last}")


def by_id(items: list[dict]) -> dict[str, dict]:
    return {item["id"]: item for item in items}


def rest_add(api: httpx.Client, name: str, track_id: int, **extra) -> dict:
    response = api.post(f"/api/playlists/{name}/", json={"track_id": track_id, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def rest_vote(api: httpx.Client, name: str, item_id: str, direction: str = "up") -> dict:
    response = api.post(f"/api/playlists/{name}/{item_id}/vote/", json={"direction": direction})
    assert response.status_code == 200, response.text
    return response.json()


def rest_move(api: httpx.Client, name: str, item_id: str, position: float) -> dict:
    response = api.patch(f"/api/playlists/{name}/{item_id}/", json={"position": position})
    assert response.status_code == 200, response.text
    return response.json()


def converge(api: httpx.Client, name: str, peers: list[NodePeer], timeout: float = 30.0):
    """Wait until every peer shows exactly what REST shows, and REST is stable meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        expected = norm(rest_items(api, name))
        try:
            for peer in peers:
                remaining = max(0.5, deadline - time.monotonic())
                peer.wait_for({"items": expected}, timeout=remaining)
        except PeerError:
            if time.monotonic() > deadline:
                raise
            continue
        if norm(rest_items(api, name)) == expected:
            return expected
        if time.monotonic() > deadline:
            raise AssertionError(f"REST kept changing; last: {expected}")


class EventListener:
    """A legacy client of the JSON event stream (CONTRACT §3), over ``websockets``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: list[dict] = []
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> EventListener:
        self.ws = self._stack.enter_context(ws_connect(self.url, open_timeout=10, close_timeout=2))
        first = json.loads(self.ws.recv(timeout=10))
        assert first["type"] == "connection.established", first
        # Without ?since=, the whole playlist follows (CONTRACT §3 v2); kept apart from events.
        self.initial = json.loads(self.ws.recv(timeout=10))
        assert self.initial["type"] == "playlist.updated", self.initial
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def until(self, predicate: Callable[[dict], bool], timeout: float = 15.0) -> list[dict]:
        """Collect ``track.*``/``playlist.*`` events until one satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.url}: no matching event; got {self.events}")
            try:
                message = json.loads(self.ws.recv(timeout=remaining))
            except TimeoutError:
                continue
            if message.get("type", "").startswith(("track.", "playlist.")):
                self.events.append(message)
                if predicate(message):
                    return self.events


# -- REST -> peer ------------------------------------------------------------------------


def test_rest_changes_reach_the_peer(server, api, playlist):
    with NodePeer(server.ws_url, playlist) as peer:
        peer.wait_synced()
        item = rest_add(api, playlist, 3, added_by="rest-user")
        item_id = item["id"]
        peer.wait_for({"by_id": {item_id: {"track_id": 3, "votes": 0, "added_by": "rest-user"}}})

        rest_vote(api, playlist, item_id)
        rest_vote(api, playlist, item_id)
        rest_vote(api, playlist, item_id, "down")
        rest_vote(api, playlist, item_id)
        peer.wait_for({"by_id": {item_id: {"votes": 2}}})

        rest_move(api, playlist, item_id, 7.5)
        peer.wait_for({"by_id": {item_id: {"position": 7.5}}})

        assert api.post(f"/api/playlists/{playlist}/{item_id}/play/").status_code == 200
        seen = peer.wait_for({"now_playing": item_id, "by_id": {item_id: {"is_playing": True}}})
        assert seen["by_id"][item_id]["played_at"]
        assert norm(seen["items"]) == norm(rest_items(api, playlist))

        assert api.delete(f"/api/playlists/{playlist}/{item_id}/").status_code == 204
        peer.wait_for({"count": 0, "now_playing": None, "by_id": {item_id: None}})


# -- peer -> REST and the legacy event stream ---------------------------------------------


def test_peer_changes_reach_rest(server, api, playlist):
    with NodePeer(server.ws_url, playlist) as peer:
        peer.wait_synced()
        item_id = "peer-item-1"
        peer.cmd("add", item_id=item_id, track_id=5, added_by="js-peer")
        items = wait_rest(api, playlist, lambda items: len(items) == 1, "the peer's item")
        assert items[0]["id"] == item_id
        assert items[0]["track_id"] == 5
        assert items[0]["track"]["id"] == 5
        assert items[0]["position"] == 1.0
        assert items[0]["votes"] == 0
        assert items[0]["added_by"] == "js-peer"
        assert items[0]["played_at"] is None
        assert items[0]["is_playing"] is False

        peer.cmd("vote", item_id=item_id, delta=3)
        peer.cmd("vote", item_id=item_id, delta=-1)
        wait_rest(api, playlist, lambda items: items[0]["votes"] == 2, "votes == 2")

        peer.cmd("move", item_id=item_id, position=4.25)
        wait_rest(api, playlist, lambda items: items[0]["position"] == 4.25, "position 4.25")

        peer.cmd("play", item_id=item_id)
        items = wait_rest(api, playlist, lambda items: items[0]["is_playing"], "playing")
        assert items[0]["played_at"]
        history = api.get(f"/api/playlists/{playlist}/history/").json()
        assert [entry["id"] for entry in history] == [item_id]

        peer.cmd("stop")
        wait_rest(api, playlist, lambda items: not items[0]["is_playing"], "stopped")

        peer.cmd("remove", item_id=item_id)
        wait_rest(api, playlist, lambda items: items == [], "the item removed")
        assert norm(peer.snapshot()["items"]) == []


def test_peer_changes_reach_two_event_listeners(server, api, playlist):
    # The playlist exists before the listeners connect.
    anchor = rest_add(api, playlist, 1)
    url = f"{server.ws_url}/ws/playlists/{playlist}/"
    with (
        NodePeer(server.ws_url, playlist) as peer,
        EventListener(url) as one,
        EventListener(url) as two,
    ):
        peer.wait_synced()
        item_id = "peer-item-ev"
        listeners = (one, two)
        for listener in listeners:
            assert [i["id"] for i in listener.initial["payload"]["items"]] == [anchor["id"]]

        def expect(event_type: str, check: Callable[[dict], bool]) -> None:
            for listener in listeners:
                listener.until(lambda e: e["type"] == event_type and check(e["payload"]))

        peer.cmd("add", item_id=item_id, track_id=6, added_by="js-peer")
        expect("track.added", lambda p: p["id"] == item_id and p["track_id"] == 6)
        peer.cmd("vote", item_id=item_id, delta=3)
        expect("track.voted", lambda p: p["id"] == item_id and p["votes"] == 3)
        peer.cmd("move", item_id=item_id, position=0.5)
        expect("track.moved", lambda p: p["id"] == item_id and p["position"] == 0.5)
        peer.cmd("play", item_id=item_id)
        expect("track.playing", lambda p: p["id"] == item_id and p["is_playing"] is True)
        peer.cmd("stop")
        expect("track.playing", lambda p: p["id"] == item_id and p["is_playing"] is False)
        peer.cmd("remove", item_id=item_id)
        expect("track.removed", lambda p: p == {"id": item_id})

        for listener in listeners:
            types = [event["type"] for event in listener.events]
            # Each change reaches each listener once, in order.
            assert types == [
                "track.added",
                "track.voted",
                "track.moved",
                "track.playing",
                "track.playing",
                "track.removed",
            ], listener.events
            seqs = [event["seq"] for event in listener.events]
            assert seqs == sorted(set(seqs)), seqs
            added = listener.events[0]["payload"]
            assert added["added_by"] == "js-peer"
            assert added["track"]["id"] == 6
        assert [e["seq"] for e in one.events] == [e["seq"] for e in two.events]
    assert norm(rest_items(api, playlist)) == norm([anchor])


# -- offline replicas ---------------------------------------------------------------------


def test_offline_replica_merges_without_losing_votes(server, api, playlist, tmp_path: Path):
    x = rest_add(api, playlist, 1)["id"]
    y = rest_add(api, playlist, 2)["id"]
    state_file = tmp_path / "replica.bin"

    with NodePeer(server.ws_url, playlist, label="A") as peer:
        peer.wait_synced()
        peer.wait_for({"count": 2})
        peer.cmd("vote", item_id=x, delta=1)
        wait_rest(api, playlist, lambda items: by_id(items)[x]["votes"] == 1, "A's first vote")
        peer.cmd("save", path=str(state_file))
        peer.cmd("disconnect")
        peer.cmd("close")

    # Meanwhile, online: REST votes and moves the same items.
    rest_vote(api, playlist, x)
    rest_vote(api, playlist, x)
    rest_vote(api, playlist, y)
    rest_move(api, playlist, x, 10.0)
    rest_move(api, playlist, y, 0.25)

    with NodePeer(server.ws_url, playlist, load=state_file, offline=True, label="A'") as peer:
        offline = peer.snapshot()
        assert offline["by_id"][x]["votes"] == 1  # what A had saved, nothing more
        peer.cmd("vote", item_id=x, delta=2)
        peer.cmd("vote", item_id=y, delta=-1)
        peer.cmd("move", item_id=x, position=0.5)
        assert peer.cmd("status")["connected"] is False

        peer.cmd("connect")
        peer.wait_synced()
        # A: 1 + 2 on x, -1 on y; REST: +2 on x, +1 on y. Nobody's vote is lost.
        peer.wait_for({"by_id": {x: {"votes": 5}, y: {"votes": 0}}})
        wait_rest(
            api,
            playlist,
            lambda items: by_id(items)[x]["votes"] == 5 and by_id(items)[y]["votes"] == 0,
            "x == 5 and y == 0 votes",
        )
        agreed = converge(api, playlist, [peer])
        assert {item["id"] for item in agreed} == {x, y}


def test_two_offline_replicas_adding_the_same_track_end_as_one_item(server, api, playlist):
    anchor = rest_add(api, playlist, 1)["id"]
    with (
        NodePeer(server.ws_url, playlist, label="A") as a,
        NodePeer(server.ws_url, playlist, label="B") as b,
    ):
        for peer in (a, b):
            peer.wait_synced()
            peer.wait_for({"count": 1})
            peer.cmd("disconnect")

        a.cmd("add", item_id="a-dup", track_id=7, added_by="alice")
        a.cmd("vote", item_id="a-dup", delta=2)
        b.cmd("add", item_id="b-dup", track_id=7, added_by="bob")
        b.cmd("vote", item_id="b-dup", delta=3)
        assert a.snapshot()["count"] == b.snapshot()["count"] == 2

        a.cmd("connect")
        b.cmd("connect")
        items = wait_rest(
            api,
            playlist,
            lambda items: (
                [i["track_id"] for i in items].count(7) == 1
                and next(i for i in items if i["track_id"] == 7)["votes"] == 5
            ),
            "one item of track 7 with 2 + 3 votes",
        )
        kept = next(i for i in items if i["track_id"] == 7)
        assert kept["id"] in {"a-dup", "b-dup"}
        assert {i["id"] for i in items} == {anchor, kept["id"]}
        agreed = converge(api, playlist, [a, b])
        assert len(agreed) == 2


# -- many peers at once -------------------------------------------------------------------


def test_six_peers_and_rest_editing_at_once_converge(server, api, playlist):
    base = [rest_add(api, playlist, track)["id"] for track in (1, 2, 3)]
    deltas = {item_id: 0 for item_id in base}
    peers = [NodePeer(server.ws_url, playlist, label=f"P{i}") for i in range(6)]
    try:
        for peer in peers:
            peer.wait_synced()
            peer.wait_for({"count": 3})

        def peer_work(index: int) -> None:
            peer = peers[index]
            for round_ in range(5):
                for item_id in base:
                    peer.cmd("vote", item_id=item_id, delta=1 if (index + round_) % 3 else -1)
                # Concurrent moves of the same items: last writer wins, all must agree.
                peer.cmd("move", item_id=base[(index + round_) % 3], position=10 + index + round_)
            peer.cmd("add", item_id=f"p{index}-item", track_id=10 + index, added_by=f"P{index}")

        def rest_work() -> None:
            for round_ in range(5):
                for item_id in base:
                    rest_vote(api, playlist, item_id, "up" if round_ % 2 else "down")

        for index in range(6):
            for round_ in range(5):
                for item_id in base:
                    deltas[item_id] += 1 if (index + round_) % 3 else -1
        for round_ in range(5):
            for item_id in base:
                deltas[item_id] += 1 if round_ % 2 else -1

        with ThreadPoolExecutor(max_workers=7) as pool:
            futures = [pool.submit(peer_work, i) for i in range(6)] + [pool.submit(rest_work)]
            for future in futures:
                future.result(timeout=120)

        def done(items: list[dict]) -> bool:
            found = by_id(items)
            return len(items) == 9 and all(found[i]["votes"] == deltas[i] for i in base)

        wait_rest(api, playlist, done, f"9 items and votes {deltas}", timeout=30)
        agreed = converge(api, playlist, peers)
        assert {item["id"] for item in agreed} == set(base) | {f"p{i}-item" for i in range(6)}
        assert {item["id"]: item["votes"] for item in agreed if item["id"] in deltas} == deltas
        positions = [item["position"] for item in agreed]
        assert positions == sorted(positions)
        for peer in peers:
            assert peer.cmd("status")["server_closes"] == [], peer.label
    finally:
        for peer in peers:
            peer.kill()


def test_two_hundred_peers_joining_at_once_all_sync(server, api, playlist):
    item_id = rest_add(api, playlist, 4)["id"]
    report = run_swarm(
        server.ws_url,
        playlist,
        count=200,
        args=["--timeout", "60", "--expect-item", item_id, "--vote", item_id],
        timeout=180,
    )
    assert report["synced"] == 200, report
    assert report["seen_item"] == 200, report
    assert report["saw_all_votes"] == 200, report
    assert report["server_closes"] == 0, report  # nobody dropped as "too slow"
    wait_rest(api, playlist, lambda items: items[0]["votes"] == 200, "200 votes")


# -- awareness ----------------------------------------------------------------------------


def awareness(peer: NodePeer) -> dict:
    return peer.cmd("awareness_states")


def wait_awareness(peer: NodePeer, predicate: Callable[[dict], bool], what: str) -> dict:
    last: dict = {}
    for _ in deadline_loop(15):
        last = awareness(peer)
        if predicate(last):
            return last
    raise AssertionError(f"{peer.label} never saw {what}; last: {last}")


def test_awareness_is_shared_without_a_phantom_server_peer(server, playlist):
    names = ["alice", "bob", "carol"]
    peers = [NodePeer(server.ws_url, playlist, label=name) for name in names]
    try:
        for peer, name in zip(peers, names, strict=True):
            peer.wait_synced()
            peer.cmd("awareness", state={"user": name})
        ids = {str(awareness(peer)["self"]): name for peer, name in zip(peers, names, strict=True)}

        def everyone(states: dict) -> bool:
            seen = {client: state.get("user") for client, state in states["states"].items()}
            return seen == ids

        for peer in peers:
            wait_awareness(peer, everyone, "exactly the three users")

        # A late joiner gets the states of those already there, and nothing else.
        with NodePeer(server.ws_url, playlist, label="dave") as dave:
            dave.wait_synced()
            # y-protocols ignores a client's initial clock-0 state: apps set one, so does dave.
            dave.cmd("awareness", state={"user": "dave"})
            late = wait_awareness(dave, lambda s: s["count"] == 4, "4 states")
            others = {c: s.get("user") for c, s in late["states"].items() if c != str(late["self"])}
            assert others == ids
            for peer in peers:
                wait_awareness(peer, lambda s: s["count"] == 4, "dave")
        for peer in peers:  # dave's process is gone (killed): the server drops his state
            wait_awareness(peer, everyone, "dave gone")

        alice, bob, carol = peers
        carol.cmd("disconnect")  # a clean y-websocket disconnect
        carol_id = str(awareness(carol)["self"])
        for peer in (alice, bob):
            wait_awareness(peer, lambda s: carol_id not in s["states"], "carol gone")
            assert awareness(peer)["count"] == 2

        bob_id = str(awareness(bob)["self"])
        bob.kill()  # no goodbye at all
        wait_awareness(alice, lambda s: bob_id not in s["states"], "bob gone")
        assert set(awareness(alice)["states"]) == {str(awareness(alice)["self"])}
    finally:
        for peer in peers:
            peer.kill()


# -- a peer that leaves right after its last change ---------------------------------------


def test_a_peer_that_exits_right_after_its_change_loses_nothing(server, api, playlist):
    item_id = rest_add(api, playlist, 8)["id"]
    rounds = 10
    for round_ in range(rounds):
        with NodePeer(server.ws_url, playlist, label=f"leaver{round_}") as peer:
            peer.wait_synced()
            peer.wait_for({"by_id": {item_id: {"votes": round_}}})
            peer.cmd("vote_and_exit", item_id=item_id, delta=1)
            assert peer.wait_exit() == 0
        wait_rest(
            api,
            playlist,
            lambda items, n=round_ + 1: items[0]["votes"] == n,
            f"{round_ + 1} votes (the last peer exited right after voting)",
        )
