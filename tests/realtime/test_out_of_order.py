"""Updates that arrive before the ones they depend on are not lost.

pycrdt 0.14 keeps such an update pending and can drop part of it once its dependency
arrives (see tests/crdt/test_convergence.py). The server notices an update that integrated
nothing and asks the peers, with sync step 1, for everything it lacks.
"""

from __future__ import annotations

import asyncio

import websockets
from pycrdt import Doc

from crdt import operations as op

from . import yframes as yf
from .conftest import WAIT, Rest, by_id, wait_rest


def _three_updates() -> tuple[Doc, list[bytes]]:
    """Add a, add b, then one transaction that moves both (it depends on the second)."""
    source = Doc()
    updates: list[bytes] = []
    source.observe(lambda event: updates.append(event.update))
    op.add_item(source, item_id="ooo-a", track_id=1, added_by="peer", added_at="t")
    op.add_item(source, item_id="ooo-b", track_id=2, added_by="peer", added_at="t")
    with source.transaction():
        op.move_item(source, "ooo-a", 5.0)
        op.move_item(source, "ooo-b", 7.0)
    return source, updates


async def test_an_update_sent_before_its_dependency_is_recovered(server, rest: Rest, playlist):
    source, updates = _three_updates()
    url = f"{server.ws_url}/yjs/{playlist}"
    async with websockets.connect(url, open_timeout=WAIT) as ws:
        greeting = yf.parse(await asyncio.wait_for(ws.recv(), WAIT))
        assert (greeting.kind, greeting.sub) == (yf.SYNC, yf.STEP1)  # not the one we wait for
        for index in (0, 2, 1):  # the move arrives before the item it moves
            await ws.send(yf.update(updates[index]))
        # The server asks again (sync step 1); answer like any y-websocket peer would.
        async with asyncio.timeout(WAIT):
            while True:
                frame = yf.parse(await ws.recv())
                if frame.kind == yf.SYNC and frame.sub == yf.STEP1:
                    await ws.send(yf.step2(source.get_update(frame.payload)))
                    break
        items = await wait_rest(rest, lambda items: [i["position"] for i in items] == [5.0, 7.0])
    assert set(by_id(items)) == {"ooo-a", "ooo-b"}
