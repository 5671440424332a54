"""Graceful shutdown (CONTRACT §10): SIGTERM while REST writers and a Yjs peer write at full
speed and a legacy listener watches. The server exits 0 within 10 s, the listener is closed
with 1000, the peer with 1001; after a restart every acknowledged REST write is there, and
every peer update the server applied (the listener saw it) is stored.
"""

from __future__ import annotations

import asyncio
import json
import signal

import httpx
import websockets
from pycrdt import Doc, Map

from tests.realtime.yframes import STEP2, SYNC, parse, step1, update

REST_WRITERS = 4
WAIT = 30.0


class Tally:
    def __init__(self) -> None:
        self.attempted = [0] * REST_WRITERS
        self.acked = [0] * REST_WRITERS
        self.peer_sent = 0
        self.peer_votes_seen = 0
        self.progress = asyncio.Event()


async def rest_writer(client: httpx.AsyncClient, url: str, index: int, tally: Tally) -> None:
    """Vote up until the server stops answering; count what was acknowledged."""
    while True:
        tally.attempted[index] += 1
        try:
            response = await client.post(url, json={"direction": "up"})
        except httpx.HTTPError:
            return
        if response.status_code != 200:
            return
        tally.acked[index] += 1
        tally.progress.set()


async def yjs_writer(ws_url: str, name: str, item_id: str, tally: Tally) -> int | None:
    """Sync, then bump this peer's own vote key as fast as the socket takes it; return the
    close code the server sent."""
    doc = Doc()
    async with websockets.connect(f"{ws_url}/yjs/{name}", max_size=None) as ws:
        await ws.send(step1(doc.get_state()))
        while (frame := parse(await ws.recv())).kind != SYNC or frame.sub != STEP2:
            pass
        doc.apply_update(frame.payload)
        made: list[bytes] = []
        doc.observe(lambda event: made.append(event.update))
        votes = doc.get("items", type=Map)[item_id]["votes"]
        key = str(doc.client_id)

        async def read_and_drop() -> None:
            async for _ in ws:
                pass

        reader = asyncio.create_task(read_and_drop())
        try:
            while True:
                votes[key] = float(tally.peer_sent + 1)
                await ws.send(update(made.pop()))
                tally.peer_sent += 1
                await asyncio.sleep(0)
        except websockets.ConnectionClosed:
            pass
        await asyncio.gather(reader, return_exceptions=True)
        return ws.close_code


async def listener(ws_url: str, name: str, item_id: str, tally: Tally) -> int | None:
    """Record the peer item's votes as the server announces them; return the close code."""
    async with websockets.connect(f"{ws_url}/ws/playlists/{name}/") as ws:
        try:
            async for raw in ws:
                event = json.loads(raw)
                payloads = event.get("payload", {}).get("items") or [event.get("payload") or {}]
                for item in payloads:
                    if item.get("id") == item_id:
                        tally.peer_votes_seen = max(tally.peer_votes_seen, item["votes"])
                        tally.progress.set()
        except websockets.ConnectionClosed:
            pass
        return ws.close_code


async def test_sigterm_under_load_exits_0_and_loses_nothing_acknowledged(make_server, playlist):
    server = make_server()
    base = f"/api/playlists/{playlist}"
    limits = httpx.Limits(max_connections=REST_WRITERS + 1)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10, limits=limits) as client:
        items = []
        for track_id in range(1, REST_WRITERS + 2):
            response = await client.post(f"{base}/", json={"track_id": track_id})
            assert response.status_code == 201
            items.append(response.json()["id"])
        *rest_items, peer_item = items

        tally = Tally()
        watching = asyncio.create_task(listener(server.ws_url, playlist, peer_item, tally))
        writing = asyncio.create_task(yjs_writer(server.ws_url, playlist, peer_item, tally))
        voters = [
            asyncio.create_task(rest_writer(client, f"{base}/{item}/vote/", index, tally))
            for index, item in enumerate(rest_items)
        ]
        async with asyncio.timeout(WAIT):  # both kinds of writes are flowing
            while tally.peer_votes_seen < 50 or sum(tally.acked) < 40:
                tally.progress.clear()
                await tally.progress.wait()

        server.process.send_signal(signal.SIGTERM)
        returncode = await asyncio.to_thread(server.process.wait, 10)
        async with asyncio.timeout(WAIT):
            listener_code, peer_code = await asyncio.gather(watching, writing)
            await asyncio.gather(*voters)

    assert returncode == 0, server.log()
    assert listener_code == 1000
    assert peer_code == 1001

    again = make_server("--no-seed", db_path=server.db_path, seed=False)
    stored = {item["id"]: item["votes"] for item in httpx.get(f"{again.base_url}{base}/").json()}
    for index, item in enumerate(rest_items):
        assert tally.acked[index] <= stored[item] <= tally.attempted[index]
    assert tally.peer_votes_seen <= stored[peer_item] <= tally.peer_sent


async def test_a_client_that_never_completes_the_close_cannot_hold_the_shutdown_up(
    make_server, playlist
):
    server = make_server()
    added = httpx.post(f"{server.base_url}/api/playlists/{playlist}/", json={"track_id": 7})
    assert added.status_code == 201
    # A raw WebSocket handshake, then silence: it never reads, never answers the close.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        f"GET /yjs/{playlist} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await writer.drain()
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")

    server.process.send_signal(signal.SIGTERM)
    returncode = await asyncio.to_thread(server.process.wait, 10)
    writer.close()
    assert returncode == 0, server.log()

    again = make_server("--no-seed", db_path=server.db_path, seed=False)
    items = httpx.get(f"{again.base_url}/api/playlists/{playlist}/").json()
    assert [item["id"] for item in items] == [added.json()["id"]]
