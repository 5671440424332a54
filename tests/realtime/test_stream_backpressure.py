"""Event-stream listeners that read slowly or not at all (CONTRACT §3, §9).

A fast reader is never closed after a burst; a listener that stops reading is closed
(within 30 s) and its playlist released; neither holds more than its bounded queue.
"""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
import websockets

from .conftest import LogWindow, Rest, event_socket, unique_name, wait_rest
from .peer import ypeer

pytestmark = pytest.mark.timeout(180)

# Whichever notices first closes a listener that stopped reading: the stream's own send
# timeout, or the connection's (server/hypercorn_limits.py: an unanswered ping, a socket that
# took nothing). Each logs one of these.
CLOSED_FOR_NOT_READING = (
    "a listener stopped reading",
    "no answer to a ping",
    "cutting a connection: it read nothing",
)


def closed_for_not_reading(log: LogWindow) -> bool:
    text = log.text()
    return any(line in text for line in CLOSED_FOR_NOT_READING)


async def test_a_fast_reader_is_not_closed_after_a_burst_of_3000_updates(
    server, rest: Rest, playlist
):
    async with ypeer(server.ws_url, playlist) as peer, event_socket(server.ws_url, playlist) as ev:
        item_id = peer.add(1, 1.0)
        for _ in range(3000):
            peer.vote(item_id)
        items = await wait_rest(rest, lambda items: bool(items) and items[0]["votes"] == 3000, 60)
        seen = await ev.until(
            lambda m: (
                m.get("payload", {}).get("votes") == 3000
                or any(i["votes"] == 3000 for i in m.get("payload", {}).get("items", []))
            ),
            timeout=60,
        )
        assert all(m["type"] in {"track.added", "track.voted", "playlist.updated"} for m in seen)
        assert items[0]["votes"] == 3000


async def test_a_listener_that_never_reads_is_closed_and_its_playlist_released(make_server):
    proc = make_server(PLAYSYNC_IDLE_SECONDS="0.5")
    name = unique_name("deaf")
    log = LogWindow(proc)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", proc.port))
    deaf = await websockets.connect(
        f"{proc.ws_url}/ws/playlists/{name}/",
        sock=sock,
        max_queue=1,
        max_size=None,
        ping_interval=None,
        compression=None,
    )
    try:
        async with (
            httpx.AsyncClient(base_url=proc.base_url, timeout=30) as client,
            ypeer(proc.ws_url, name) as peer,
        ):
            # More than the kernel's socket buffers hold (4 MiB on loopback), so sends block.
            item_id = peer.add(1, 1.0, added_by="z" * 1000)
            for _ in range(6000):
                peer.vote(item_id)
            await wait_rest(
                Rest(client, name), lambda items: bool(items) and items[0]["votes"] == 6000, 60
            )
        async with asyncio.timeout(40):  # closed within 30 s of its last read
            while not closed_for_not_reading(log):
                await asyncio.sleep(0.2)
            while f"room {name} unloaded" not in log.text():
                await asyncio.sleep(0.2)
    finally:
        sock.close()
        await asyncio.wait_for(deaf.close(), 5)
    log.assert_clean()


async def test_the_server_answers_others_while_a_listener_is_stuck(make_server):
    proc = make_server()
    name = unique_name("stuck")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", proc.port))
    stuck = await websockets.connect(
        f"{proc.ws_url}/ws/playlists/{name}/", sock=sock, max_queue=1, ping_interval=None
    )
    try:
        async with ypeer(proc.ws_url, name) as peer, event_socket(proc.ws_url, name) as ev:
            item_id = peer.add(1, 1.0, added_by="z" * 1000)
            for _ in range(2000):
                peer.vote(item_id)
            await ev.until(lambda m: m.get("payload", {}).get("votes") == 2000, timeout=60)
    finally:
        sock.close()
        await asyncio.wait_for(stuck.close(), 5)


async def test_an_sse_listener_that_never_reads_is_closed_and_its_playlist_released(make_server):
    proc = make_server(PLAYSYNC_IDLE_SECONDS="0.5")
    name = unique_name("deaf-sse")
    log = LogWindow(proc)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", proc.port))
    request = f"GET /api/playlists/{name}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    await loop.sock_sendall(sock, request.encode())
    try:
        async with (
            httpx.AsyncClient(base_url=proc.base_url, timeout=30) as client,
            ypeer(proc.ws_url, name) as peer,
        ):
            item_id = peer.add(1, 1.0, added_by="z" * 1000)
            for _ in range(6000):
                peer.vote(item_id)
            await wait_rest(
                Rest(client, name), lambda items: bool(items) and items[0]["votes"] == 6000, 60
            )
        async with asyncio.timeout(40):  # closed within 30 s of its last read
            while not closed_for_not_reading(log):
                await asyncio.sleep(0.2)
            while f"room {name} unloaded" not in log.text():
                await asyncio.sleep(0.2)
    finally:
        sock.close()
    log.assert_clean()
