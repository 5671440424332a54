"""A real Yjs peer (yjs + y-websocket under Node) with a ``read`` token (CONTRACT §8).

It syncs and shares presence; what it edits locally is never applied, relayed or
stored, and its connection stays open. Its frames are handled in order, so once
an awareness change it sent after its edits has reached the other peer, the
server has handled (and ignored) those edits: no sleeping for "long enough".
"""

from __future__ import annotations

import httpx
import pytest

from ..interop.peers import NodePeer, deadline_loop
from .conftest import token

pytestmark = pytest.mark.timeout(120)

WAIT = 15.0


def wait_awareness(peer: NodePeer, expected: dict, timeout: float = WAIT) -> None:
    """Wait until ``peer`` sees some client whose awareness state is ``expected``."""
    states: dict = {}
    for _ in deadline_loop(timeout):
        states = peer.cmd("awareness_states")["states"]
        if expected in states.values():
            return
    raise AssertionError(f"{peer.label} never saw {expected}; saw {states}")


def rest_items(api: httpx.Client, name: str) -> list[dict]:
    response = api.get(f"/api/playlists/{name}/")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_read_only_peer_syncs_and_sees_presence_but_its_edits_reach_no_one(
    server, admin: httpx.Client, playlist: str, restart
) -> None:
    first = admin.post(f"/api/playlists/{playlist}/", json={"track_id": 10}).json()
    with (
        NodePeer(server.ws_url, playlist, token=token(playlist, "write"), label="writer") as w,
        NodePeer(server.ws_url, playlist, token=token(playlist, "read"), label="reader") as r,
    ):
        for peer in (w, r):
            peer.wait_synced()
            peer.wait_for({"count": 1, "by_id": {first["id"]: {"track_id": 10}}})

        # Presence goes both ways.
        w.cmd("awareness", state={"user": "writer"})
        r.cmd("awareness", state={"user": "reader"})
        wait_awareness(w, {"user": "reader"})
        wait_awareness(r, {"user": "writer"})

        # The reader edits its own copy: an add, a vote, a play.
        r.cmd("add", item_id="read-only-item", track_id=11)
        r.cmd("vote", item_id=first["id"], delta=1)
        r.cmd("play", item_id=first["id"])
        r.cmd("awareness", state={"user": "reader", "after": "edits"})
        wait_awareness(w, {"user": "reader", "after": "edits"})

        # None of it reached the writer or REST, and the reader is still connected.
        seen = w.snapshot()
        assert seen["count"] == 1 and seen["now_playing"] is None, seen
        assert seen["by_id"][first["id"]]["votes"] == 0, seen
        assert [(i["id"], i["votes"], i["is_playing"]) for i in rest_items(admin, playlist)] == [
            (first["id"], 0, False)
        ]
        status = r.cmd("status")
        assert status["connected"] and status["server_closes"] == [], status
        assert "Permission denied" in r.stderr()  # told once, with y-websocket's auth message

        # The reader still receives everyone else's changes.
        w.cmd("vote", item_id=first["id"], delta=1)
        r.wait_for({"by_id": {first["id"]: {"votes": 2}}})  # the writer's 1 and its own 1
        for _ in deadline_loop(WAIT):
            if rest_items(admin, playlist)[0]["votes"] == 1:
                break
        else:
            raise AssertionError("the writer's vote never reached REST")

    # Nothing of the reader's was stored: a restarted server shows only the writer's vote.
    again = restart(server)
    with httpx.Client(base_url=again.base_url, headers=admin.headers, timeout=30) as api:
        items = rest_items(api, playlist)
    assert [(i["id"], i["votes"], i["is_playing"]) for i in items] == [(first["id"], 1, False)]
