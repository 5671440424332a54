"""A WebSocket message over the limit is refused at the limit (CONTRACT §9), on both sockets.

hypercorn alone kept every byte of an oversized frame and lingered before closing
(server/hypercorn_limits.py). What is measured here is the server process itself: its
resident memory (``/proc/<pid>/status`` VmRSS) while a peer sends a frame 64 times the
limit, and the close code that peer reads.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
import websockets

from server.surfaces.websocket import WS_1009_MESSAGE_TOO_BIG

pytestmark = pytest.mark.timeout(180)

LIMIT = 1 << 20
FRAME = 64 * LIMIT
PATHS = ["/yjs/big-frames", "/ws/playlists/big-frames/"]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def send_and_read_close(url: str, frame: bytes) -> int | None:
    async with asyncio.timeout(60):
        ws = await websockets.connect(url, max_size=None, open_timeout=30)
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(frame)
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await ws.recv()
    return ws.close_code


@pytest.mark.parametrize("path", PATHS)
async def test_a_frame_far_over_the_limit_closes_with_1009_and_is_not_buffered(server, path):
    pid = server.process.pid
    # Warm up (a first connection of each kind loads what it needs), then measure.
    assert await send_and_read_close(server.ws_url + path, b"\x00" * (2 * LIMIT)) == 1009
    before = rss_bytes(pid)
    frame = b"\x00" * FRAME
    peak = before
    sending = asyncio.create_task(send_and_read_close(server.ws_url + path, frame))
    while not sending.done():
        peak = max(peak, rss_bytes(pid))
        await asyncio.wait([sending], timeout=0.05)
    assert sending.result() == WS_1009_MESSAGE_TOO_BIG
    # Bounded by the limit (a few buffers of it), not by the frame: 64 MiB sent.
    assert peak - before < 8 * LIMIT, (before, peak)


@pytest.mark.parametrize("path", PATHS)
async def test_a_message_just_over_the_limit_closes_with_1009(server, path):
    assert await send_and_read_close(server.ws_url + path, b"\x00" * (LIMIT + 1)) == 1009


async def test_a_message_at_the_limit_is_accepted(server):
    """The limit is inclusive: an event-stream message of exactly the limit is read, ignored."""
    async with websockets.connect(server.ws_url + PATHS[1], max_size=None) as ws:
        await ws.recv()  # connection.established
        await ws.send("x" * LIMIT)
        await ws.send('{"type": "ping", "ts": 1}')
        async with asyncio.timeout(30):
            while '"pong"' not in (message := await ws.recv()):
                pass
        assert '"ts": 1' in message or '"ts":1' in message
