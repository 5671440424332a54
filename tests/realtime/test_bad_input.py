"""Bad input on ``/yjs/{name}`` (CONTRACT §4): a malformed or oversized message closes that one
connection with a close code; the document and everyone else are untouched.

Raw frames go through the ``websockets`` package; the well-behaved peer is a ``pycrdt.Provider``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import websockets
from pycrdt import Doc, Map
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.uri import parse_uri

from server.settings import Settings
from server.surfaces.websocket import (
    WS_1003_UNSUPPORTED_DATA,
    WS_1007_INVALID_PAYLOAD,
    WS_1009_MESSAGE_TOO_BIG,
    WS_1013_TRY_AGAIN_LATER,
    WS_4404_UNKNOWN_ROOM,
)

from . import yframes as yf
from .conftest import WAIT, LogWindow, Rest, by_id, wait_rest
from .peer import now_iso, ypeer

pytestmark = pytest.mark.timeout(120)

MAX_MESSAGE = Settings().max_message_bytes  # no env setting: the default, 1 MiB


def _update_adding_an_item(track_id: int = 30) -> bytes:
    doc = Doc()
    items = doc.get("items", type=Map)
    items[str(uuid.uuid4())] = Map(
        {
            "track_id": float(track_id),
            "position": 99.0,
            "added_by": "bad",
            "added_at": now_iso(),
            "played_at": None,
            "votes": Map(),
        }
    )
    return doc.get_update()


def _not_json_awareness() -> bytes:
    state = b"{not json"
    update = yf.write_var_uint(1) + yf.write_var_uint(12345) + yf.write_var_uint(1)
    return yf.create_awareness_message(update + yf.var_bytes(state))


BAD_FRAMES: dict[str, tuple[bytes | str, int]] = {
    "garbage-bytes": (b"\xff\xff\xff", WS_1007_INVALID_PAYLOAD),
    "overlong-varuint": (b"\x80" * 12 + b"\x01", WS_1007_INVALID_PAYLOAD),
    "truncated-sync-frame": (yf.update(_update_adding_an_item())[:-7], WS_1007_INVALID_PAYLOAD),
    "sync-frame-without-payload": (bytes([yf.SYNC, yf.UPDATE]), WS_1007_INVALID_PAYLOAD),
    "undecodable-update": (yf.update(b"\x05garbage-not-an-update"), WS_1007_INVALID_PAYLOAD),
    "undecodable-step2": (yf.step2(b"\xff\xff\xff\xff"), WS_1007_INVALID_PAYLOAD),
    "undecodable-state-vector": (yf.step1(b"\xff\xff"), WS_1007_INVALID_PAYLOAD),
    "unknown-sync-subtype": (bytes([yf.SYNC, 7]) + yf.var_bytes(b""), WS_1007_INVALID_PAYLOAD),
    "awareness-not-json": (_not_json_awareness(), WS_1007_INVALID_PAYLOAD),
    "awareness-truncated": (
        yf.create_awareness_message(b"\x02\x05\x01"),
        WS_1007_INVALID_PAYLOAD,
    ),
    "text-frame": ('{"type": "sync"}', WS_1003_UNSUPPORTED_DATA),
    "too-big": (
        yf.update(b"\x00" * (MAX_MESSAGE + MAX_MESSAGE // 10)),
        WS_1009_MESSAGE_TOO_BIG,
    ),
}


async def wait_closed(ws: websockets.ClientConnection, timeout: float = WAIT) -> int | None:
    """Read (and drop) whatever comes until the server closes; the close code it sent."""
    async with asyncio.timeout(timeout):
        try:
            while True:
                await ws.recv()
        except websockets.ConnectionClosed:
            pass
    return ws.close_code


@asynccontextmanager
async def raw_peer(ws_url: str, name: str) -> AsyncIterator[websockets.ClientConnection]:
    """A raw y-websocket connection; the server's greeting (sync step 1) is read and checked."""
    async with asyncio.timeout(WAIT):
        ws = await websockets.connect(f"{ws_url}/yjs/{name}", max_size=None, open_timeout=WAIT)
    try:
        greeting = yf.parse(await asyncio.wait_for(ws.recv(), WAIT))
        assert (greeting.kind, greeting.sub) == (yf.SYNC, yf.STEP1), greeting
        yield ws
    finally:
        await ws.close()


@pytest.mark.parametrize("case", list(BAD_FRAMES), ids=list(BAD_FRAMES))
async def test_a_bad_frame_closes_only_that_connection(server, rest: Rest, playlist, case):
    frame, code = BAD_FRAMES[case]
    log = LogWindow(server)
    first = await rest.add(1)
    async with ypeer(server.ws_url, playlist) as good:
        await good.wait_until(lambda: first["id"] in good.items)
        before = await rest.list()
        async with raw_peer(server.ws_url, playlist) as bad:
            with contextlib.suppress(websockets.ConnectionClosed):  # closed while sending
                await bad.send(frame)
            assert await wait_closed(bad) == code
        # REST and the document are untouched by the bad frame.
        assert await rest.list() == before
        assert set(good.items.keys()) == {first["id"]}
        # The good peer keeps syncing, both ways.
        second = await rest.add(2)
        await good.wait_until(lambda: second["id"] in good.items)
        third = good.add(3, 50.0)
        items = await wait_rest(rest, lambda items: third in by_id(items))
        assert [i["id"] for i in items] == [first["id"], second["id"], third]
        # And a new connection to the room works.
        async with raw_peer(server.ws_url, playlist) as again:
            await again.send(yf.step1())
            reply = yf.parse(await asyncio.wait_for(again.recv(), WAIT))
            assert (reply.kind, reply.sub) == (yf.SYNC, yf.STEP2)
            doc = Doc()
            doc.apply_update(reply.payload)
            assert set(doc.get("items", type=Map).keys()) == {first["id"], second["id"], third}
    log.assert_clean()


async def test_a_large_frame_under_the_limit_is_applied(server, rest: Rest, playlist):
    # Large, yet within every rule of CONTRACT §9: 200 items, each with a 4 KiB track copy.
    doc = Doc()
    items = doc.get("items", type=Map)
    expected = []
    with doc.transaction():
        for index in range(200):
            item_id = str(uuid.uuid4())
            items[item_id] = Map(
                {
                    "track_id": float(index + 1),
                    "position": float(index + 1),
                    "added_by": "big",
                    "added_at": now_iso(),
                    "played_at": None,
                    "votes": Map(),
                    "track": {f"k{k}": "t" * 1000 for k in range(4)},
                }
            )
            expected.append((item_id, index + 1))
    frame = yf.update(doc.get_update())
    assert MAX_MESSAGE - 200_000 < len(frame) < MAX_MESSAGE
    async with raw_peer(server.ws_url, playlist) as ws:
        await ws.send(frame)
        items_seen = await wait_rest(rest, lambda items: len(items) == 200)
    assert [(i["id"], i["track_id"]) for i in items_seen] == expected


@pytest.mark.parametrize(
    "path", ["bad.name", "x" * 65, "a%2Fb", "a/b", "", "sp%20ace", "%00"], ids=repr
)
async def test_an_invalid_playlist_name_closes_with_4404(server, path):
    log = LogWindow(server)
    async with asyncio.timeout(WAIT):
        ws = await websockets.connect(f"{server.ws_url}/yjs/{path}", open_timeout=WAIT)
    async with ws:
        assert await wait_closed(ws) == WS_4404_UNKNOWN_ROOM
    log.assert_clean()


async def test_a_valid_frame_of_an_unknown_message_type_is_ignored(server, rest: Rest, playlist):
    first = await rest.add(1)
    async with raw_peer(server.ws_url, playlist) as ws:
        await ws.send(bytes([2, 0]) + yf.var_bytes(b"auth"))  # auth: nothing to do
        await ws.send(bytes([9]) + b"future message type")
        await ws.send(yf.step1())
        reply = yf.parse(await asyncio.wait_for(ws.recv(), WAIT))
        assert (reply.kind, reply.sub) == (yf.SYNC, yf.STEP2)
        doc = Doc()
        doc.apply_update(reply.payload)
        assert set(doc.get("items", type=Map).keys()) == {first["id"]}


# -- a slow consumer -----------------------------------------------------------------------------


class StalledPeer:
    """A y-websocket peer that completes the handshake, sends sync step 1, then never reads.

    Sans-I/O ``websockets`` over a socket with a small receive buffer: nothing is read
    until :meth:`drain`, so the server's send buffers and its queue for this peer fill up.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.protocol: ClientProtocol | None = None

    @classmethod
    async def connect(cls, ws_url: str, name: str) -> StalledPeer:
        protocol = ClientProtocol(parse_uri(f"{ws_url}/yjs/{name}"), max_size=None)
        host, port = parse_uri(ws_url).host, parse_uri(ws_url).port
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 16)
        peer = cls(reader, writer)
        peer.protocol = protocol
        protocol.send_request(protocol.connect())
        peer._flush()
        async with asyncio.timeout(WAIT):
            while protocol.state.name == "CONNECTING":
                # One byte at a time: read nothing past the handshake response.
                data = await reader.read(1)
                assert data, "the server closed during the handshake"
                protocol.receive_data(data)
        assert protocol.handshake_exc is None, protocol.handshake_exc
        protocol.events_received()
        protocol.send_binary(yf.step1())
        peer._flush()
        await writer.drain()
        return peer

    def _flush(self) -> None:
        assert self.protocol is not None
        for data in self.protocol.data_to_send():
            self.writer.write(data)

    async def drain(self, timeout: float) -> tuple[int, int | None]:
        """Read everything now: (messages received, close code or None if never closed)."""
        assert self.protocol is not None
        messages, code = 0, None
        async with asyncio.timeout(timeout):
            while code is None:
                data = await self.reader.read(1 << 16)
                if not data:
                    break
                self.protocol.receive_data(data)
                for frame in self.protocol.events_received():
                    if frame.opcode == Opcode.CLOSE:
                        code = self.protocol.close_rcvd.code if self.protocol.close_rcvd else None
                    else:
                        messages += 1
                self._flush()
        return messages, code

    def abort(self) -> None:
        self.writer.transport.abort()


def _send_buffer_max() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 << 20


async def server_state(ws_url: str, name: str) -> bytes:
    """The room's whole document, as the sync step 2 answering an empty state vector."""
    async with raw_peer(ws_url, name) as ws:
        await ws.send(yf.step1())
        async with asyncio.timeout(WAIT):
            while True:
                frame = yf.parse(await ws.recv())
                if (frame.kind, frame.sub) == (yf.SYNC, yf.STEP2):
                    return frame.payload


async def test_a_peer_that_never_reads_is_dropped_without_stalling_anyone(
    server, rest: Rest, playlist
):
    log = LogWindow(server)
    anchor = await rest.add(1)
    size = 4096
    # Enough to fill the kernel's send buffer to the stalled peer, then the server's queue
    # for it (Settings.peer_queue messages), with a margin; each update is one message.
    count = _send_buffer_max() // size + Settings().peer_queue + 1000
    doc = Doc()
    doc.apply_update(await server_state(server.ws_url, playlist))
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    # The flood: one item's `track` (a peer's display copy) rewritten `count` times, each
    # about `size` bytes and within the gate's limits (strings 1 KiB, a track copy 4 KiB).
    item = doc.get("items", type=Map)[anchor["id"]]
    filler = {key: "x" * 1000 for key in "abc"}
    for index in range(count):
        item["track"] = {"title": f"{index:06d}" + "x" * 990, **filler}
    assert len(updates) == count

    stalled = await StalledPeer.connect(server.ws_url, playlist)
    try:
        async with (
            raw_peer(server.ws_url, playlist) as watcher,
            raw_peer(server.ws_url, playlist) as flooder,
        ):
            flooded = asyncio.Event()
            seen = Doc()
            await watcher.send(yf.step1())

            def caught_up() -> bool:
                item = seen.get("items", type=Map).get(anchor["id"])
                if not flooded.is_set() or item is None or "track" not in item:
                    return False
                title = item["track"]["title"][:6]
                return title == f"{count - 1:06d}" and sum(item["votes"].values()) == len(took)

            async def watch() -> None:
                """Another peer, reading as it should: it must get every update."""
                while not caught_up():
                    frame = yf.parse(await watcher.recv())
                    if (frame.kind, frame.sub) in ((yf.SYNC, yf.UPDATE), (yf.SYNC, yf.STEP2)):
                        seen.apply_update(frame.payload)

            async def flood() -> None:
                for index, update in enumerate(updates):
                    await flooder.send(yf.update(update))
                    if index % 50 == 0:
                        await asyncio.sleep(0)  # let the REST writer in (a yield, not a wait)
                flooded.set()

            took: list[float] = []

            async def rest_writes() -> None:
                """REST votes, one after another, for as long as the flood lasts."""
                while not flooded.is_set() or len(took) < 3:
                    t0 = time.monotonic()
                    await rest.vote(anchor["id"], "up")
                    took.append(time.monotonic() - t0)

            watching = asyncio.create_task(watch())
            try:
                async with asyncio.timeout(60):
                    await asyncio.gather(flood(), rest_writes())
                assert max(took) < 10, f"REST writes stalled during the flood: {took}"
                async with asyncio.timeout(60):
                    await watching  # the reading peer got all of it
            finally:
                watching.cancel()
            assert (await rest.get(anchor["id"]))["votes"] == len(took)

        # The stalled peer got less than everything, then a close frame (1013, try later).
        received, code = await stalled.drain(timeout=30)
        assert code == WS_1013_TRY_AGAIN_LATER, (received, code)
        assert received < count
    finally:
        stalled.abort()
    assert [item["id"] for item in await rest.list()] == [anchor["id"]]
    text = log.text()
    assert "Traceback" not in text, text[-3000:]


# -- a peer that leaves right after writing ----------------------------------------------------


@pytest.mark.parametrize("how", ["close-frame", "tcp-close"])
async def test_a_peer_closing_right_after_its_last_update_loses_nothing(server, aclient, how):
    """Each peer sends 15 updates (one item each), then leaves at once; 6 peers at a time."""

    async def one(name: str) -> set[str]:
        doc = Doc()
        updates: list[bytes] = []
        doc.observe(lambda event: updates.append(event.update))
        items = doc.get("items", type=Map)
        ids = set()
        for track in range(1, 16):
            item_id = str(uuid.uuid4())
            items[item_id] = Map(
                {
                    "track_id": float(track),
                    "position": float(track),
                    "added_by": "leaver",
                    "added_at": now_iso(),
                    "played_at": None,
                    "votes": Map(),
                }
            )
            ids.add(item_id)
        async with raw_peer(server.ws_url, name) as ws:
            for update in updates:
                await ws.send(yf.update(update))
            if how == "close-frame":
                await ws.close()
            else:
                ws.transport.close()  # a FIN right away, without a close frame
        return ids

    names = [f"bye-{uuid.uuid4().hex[:10]}" for _ in range(6)]
    expected = await asyncio.gather(*(one(name) for name in names))
    for name, ids in zip(names, expected, strict=True):
        items = await wait_rest(Rest(aclient, name), lambda items, ids=ids: len(items) >= len(ids))
        assert {item["id"] for item in items} == ids
