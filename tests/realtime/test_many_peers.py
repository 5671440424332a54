"""Many raw y-websocket peers joining one room at the same moment (the Node swarm of 200 peers
lives in the interop tests)."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from pycrdt import Doc, Map

from . import yframes as yf
from .conftest import LogWindow, Rest

pytestmark = pytest.mark.timeout(120)

PEERS = 100


async def test_a_hundred_peers_joining_one_room_at_once_all_get_step2(server, rest: Rest, playlist):
    log = LogWindow(server)
    url = f"{server.ws_url}/yjs/{playlist}"
    # The room is not loaded yet: every peer's connection races to load it.
    start = asyncio.Event()

    async def join() -> tuple[websockets.ClientConnection, Doc]:
        await start.wait()
        ws = await websockets.connect(url, max_size=None, open_timeout=45)
        await ws.send(yf.step1())
        doc = Doc()
        while True:
            frame = yf.parse(await ws.recv())
            if (frame.kind, frame.sub) == (yf.SYNC, yf.STEP2):
                doc.apply_update(frame.payload)
                return ws, doc

    tasks = [asyncio.create_task(join()) for _ in range(PEERS)]
    start.set()
    try:
        async with asyncio.timeout(45):
            joined = await asyncio.gather(*tasks)
        assert len(joined) == PEERS

        # Every one of them is live in the room: a REST write reaches all.
        item = await rest.add(1)

        async def sees_item(ws: websockets.ClientConnection, doc: Doc) -> None:
            items = doc.get("items", type=Map)
            while item["id"] not in items:
                frame = yf.parse(await ws.recv())
                if (frame.kind, frame.sub) in ((yf.SYNC, yf.UPDATE), (yf.SYNC, yf.STEP2)):
                    doc.apply_update(frame.payload)

        async with asyncio.timeout(30):
            await asyncio.gather(*(sees_item(ws, doc) for ws, doc in joined))
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(
            *(r[0].close() for r in results if isinstance(r, tuple)), return_exceptions=True
        )
    log.assert_clean()
