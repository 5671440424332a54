"""Connection limits (CONTRACT §9): connections per address and peers per playlist refused at
the handshake, peers that stop reading cut and forgotten, fast senders read more slowly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid

import httpx
import pytest
import websockets
from pycrdt import Doc, Map

from server.surfaces.websocket import WS_1013_TRY_AGAIN_LATER
from tests.realtime import yframes as yf
from tests.realtime.conftest import Rest, wait_rest
from tests.realtime.peer import now_iso

pytestmark = pytest.mark.timeout(120)
WAIT = 30


async def connect(url: str, *, source: str | None = None) -> websockets.ClientConnection:
    sock = None
    if source is not None:
        host, port = url.split("//")[1].split("/")[0].split(":")
        sock = socket.socket()
        sock.bind((source, 0))
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    async with asyncio.timeout(WAIT):
        return await websockets.connect(url, sock=sock, max_size=None)


async def closed_with(ws: websockets.ClientConnection) -> int | None:
    async with asyncio.timeout(WAIT):
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await ws.recv()
    return ws.close_code


async def test_connections_past_the_per_address_limit_get_503(make_server):
    server = make_server("--no-seed", PLAYSYNC_MAX_CONNECTIONS_PER_ADDRESS="3")
    yjs, events = f"{server.ws_url}/yjs/a-{uuid.uuid4().hex[:8]}", f"{server.ws_url}/ws/playlist/"
    # Both kinds of socket count against the same address.
    held = [await connect(yjs), await connect(events), await connect(yjs)]
    for url in (yjs, events):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await connect(url)
        response = refused.value.response
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert json.loads(response.body)["error"]["code"] == "TOO_MANY_CONNECTIONS"
    # Another address is not affected.
    other = await connect(yjs, source="127.0.0.2")
    await other.close()
    # A closed connection gives its slot back.
    await held.pop().close()
    async with asyncio.timeout(WAIT):
        while True:
            try:
                held.append(await connect(events))
                break
            except websockets.InvalidStatus:
                await asyncio.sleep(0.05)  # the server has not seen the close yet
    for ws in held:
        await ws.close()


async def test_peers_past_the_per_playlist_limit_are_closed_with_1013(make_server):
    server = make_server("--no-seed", PLAYSYNC_MAX_PEERS_PER_PLAYLIST="2")
    full = f"{server.ws_url}/yjs/full-{uuid.uuid4().hex[:8]}"
    first, second = await connect(full), await connect(full)
    assert await closed_with(await connect(full)) == WS_1013_TRY_AGAIN_LATER
    # Another playlist has room.
    other = await connect(f"{server.ws_url}/yjs/other-{uuid.uuid4().hex[:8]}")
    assert yf.parse(await asyncio.wait_for(other.recv(), WAIT)).kind == yf.SYNC
    for ws in (first, second, other):
        await ws.close()


class SilentPeer:
    """Completes a WebSocket handshake on a raw socket, then never reads again."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    async def connect(cls, host: str, port: int, path: str) -> SilentPeer:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(sock, (host, port))
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        head = b""
        async with asyncio.timeout(WAIT):
            while b"\r\n\r\n" not in head:
                head += await loop.sock_recv(sock, 1)  # nothing past the response head
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(sock)

    async def cut_by_server(self) -> bool:
        """Read now: True once the server has closed or reset the connection."""
        loop = asyncio.get_running_loop()
        try:
            while await loop.sock_recv(self.sock, 1 << 16):
                pass
        except ConnectionError:
            pass
        return True

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("path", ["/yjs/{}", "/ws/playlists/{}/"])
async def test_a_peer_that_stops_reading_is_cut_and_its_place_released(make_server, path):
    server = make_server(
        "--no-seed",
        PLAYSYNC_PING_SECONDS="1",
        PLAYSYNC_SEND_TIMEOUT_SECONDS="2",
        PLAYSYNC_MAX_PEERS_PER_PLAYLIST="1",
        PLAYSYNC_MAX_CONNECTIONS_PER_ADDRESS="1",
    )
    name = f"mute-{uuid.uuid4().hex[:8]}"
    silent = await SilentPeer.connect("127.0.0.1", server.port, path.format(name))
    try:
        # Its one connection per address is taken until the server cuts it: then a reading
        # peer gets in (on /yjs/, that is also the playlist's one peer place).
        url = server.ws_url + path.format(name)
        async with asyncio.timeout(WAIT):
            while True:
                try:
                    ws = await connect(url)
                except websockets.InvalidStatus as refused:
                    assert refused.response.status_code == 503
                    await asyncio.sleep(0.2)
                    continue
                await ws.recv()  # the greeting: not closed with 1013
                break
        async with asyncio.timeout(WAIT):
            assert await silent.cut_by_server()
        # The reading peer answers pings and stays.
        await asyncio.sleep(0)  # let pending frames in
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3):  # three ping intervals
                await closed_with(ws)
        assert ws.close_code is None, "a peer that reads was cut"
        await ws.close()
    finally:
        silent.close()


async def test_a_fast_sender_is_read_more_slowly_not_dropped(make_server):
    """A budget of 8 KiB/s (burst: one 16 KiB message), ~50 KiB of updates sent at once.

    Everything is applied and the peer stays; and it took at least what the budget allows
    (a lower bound: a busy machine only makes it slower).
    """
    rate, burst = 8 << 10, 16 << 10
    server = make_server(
        "--no-seed", PLAYSYNC_PEER_BYTES_PER_SECOND=str(rate), PLAYSYNC_MAX_MESSAGE_BYTES=str(burst)
    )
    name = f"fast-{uuid.uuid4().hex[:8]}"
    doc = Doc()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    items = doc.get("items", type=Map)
    ids = []
    for track in range(1, 17):
        item_id = str(uuid.uuid4())
        items[item_id] = Map(
            {
                "track_id": float(track),
                "position": float(track),
                "added_by": "fast",
                "added_at": now_iso(),
                "played_at": None,
                "votes": Map(),
                "track": {"title": "t" * 1000, "album": "a" * 1000, "artist": "b" * 1000},
            }
        )
        ids.append(item_id)
    frames = [yf.update(update) for update in updates]
    total = sum(len(frame) for frame in frames)
    assert total > 3 * burst
    ws = await connect(f"{server.ws_url}/yjs/{name}")
    started = time.monotonic()
    for frame in frames:
        await ws.send(frame)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        items_seen = await wait_rest(
            Rest(client, name), lambda items: len(items) == len(ids), timeout=60
        )
    took = time.monotonic() - started
    assert sorted(item["id"] for item in items_seen) == sorted(ids)
    assert ws.close_code is None
    # The last frame is read only once the budget allows all but it.
    assert took >= (total - len(frames[-1]) - burst) / rate * 0.9, (took, total)
    await ws.close()
