"""Issue #9 against a real server: each hostile write is refused with 4400 and its reason,
the server lives, other peers and REST see nothing of it, and nothing of it is stored.

Raw frames over ``websockets``; the well-behaved peers are ``pycrdt.Provider`` peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map

from server.surfaces.websocket import WS_1007_INVALID_PAYLOAD, WS_4400_REJECTED

from . import yframes as yf
from .conftest import WAIT, LogWindow, Rest, by_id, wait_rest
from .peer import now_iso, ypeer

pytestmark = pytest.mark.timeout(180)


@asynccontextmanager
async def raw_peer(ws_url: str, name: str) -> AsyncIterator[websockets.ClientConnection]:
    async with asyncio.timeout(WAIT):
        ws = await websockets.connect(f"{ws_url}/yjs/{name}", max_size=None, open_timeout=WAIT)
    try:
        yield ws
    finally:
        await ws.close()


async def server_doc(ws: websockets.ClientConnection) -> Doc:
    """The room's document as this connection syncs it (sync step 1, then step 2)."""
    await ws.send(yf.step1())
    doc = Doc()
    async with asyncio.timeout(WAIT):
        while True:
            frame = yf.parse(await ws.recv())
            if (frame.kind, frame.sub) == (yf.SYNC, yf.STEP2):
                doc.apply_update(frame.payload)
                return doc


async def closed_with(ws: websockets.ClientConnection) -> tuple[int | None, str]:
    async with asyncio.timeout(WAIT):
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await ws.recv()
    return ws.close_code, ws.close_reason


def edit(doc: Doc, fn) -> bytes:
    """One transaction on a peer's copy; its update."""
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    with doc.transaction():
        fn(doc)
    doc.unobserve(subscription)
    (update,) = updates
    return update


async def send_hostile(server, playlist: str, make_update) -> tuple[int | None, str]:
    """Sync a raw peer, let ``make_update(doc)`` build its update, send it, await the close."""
    async with raw_peer(server.ws_url, playlist) as ws:
        doc = await server_doc(ws)
        update = make_update(doc)
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(yf.update(update))
        return await closed_with(ws)


async def assert_unharmed(server, rest: Rest, before: list[dict]) -> None:
    """Server alive, REST unchanged, and a fresh peer syncs the same document."""
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        assert (await client.get("/health")).status_code == 200
    assert await rest.list() == before


def items_of(doc: Doc) -> Map:
    return doc.get("items", type=Map)


# -- deep nesting (SIGSEGV, and a stored poison for JS clients) --------------------------------


def _nested_item_update(field: str, depth: int) -> bytes:
    """A new item whose ``field`` holds an array nested ``depth`` deep (hand-encoded)."""
    client = 0x5EED
    value = b"\x75\x01" * depth + b"\x7e"
    return (
        b"\x01\x02"
        + yf.write_var_uint(client)
        + b"\x00"
        + b"\x27\x01\x05items\x01k\x01"
        + b"\x28\x00"
        + yf.write_var_uint(client)
        + b"\x00"
        + yf.var_bytes(field.encode())
        + b"\x01"
        + value
        + b"\x00"
    )


@pytest.mark.parametrize(("field", "depth"), [("track", 20_000), ("x", 20_000), ("track", 30_000)])
async def test_a_deeply_nested_value_is_refused_and_the_server_lives(
    server, rest: Rest, playlist, field, depth
):
    log = LogWindow(server)
    first = await rest.add(1)
    before = await rest.list()
    async with ypeer(server.ws_url, playlist) as good:
        await good.wait_until(lambda: first["id"] in good.items)
        update = _nested_item_update(field, depth)
        assert 40_000 <= len(update) <= 60_100  # the sizes of the frames in the issue
        code, reason = await send_hostile(server, playlist, lambda doc: update)
        assert code == WS_4400_REJECTED
        assert "nested deeper than 8" in reason
        await assert_unharmed(server, rest, before)
        second = await rest.add(2)
        await good.wait_until(lambda: second["id"] in good.items)
        assert "k" not in good.items
    log.assert_clean()


# -- forged votes ---------------------------------------------------------------------------


async def test_a_peer_cannot_forge_the_servers_vote(server, rest: Rest, playlist):
    item = await rest.add(1)
    for _ in range(3):
        item = await rest.vote(item["id"], "up")
    before = await rest.list()

    def forge(doc: Doc) -> bytes:
        votes = items_of(doc)[item["id"]]["votes"]
        (server_key,) = [k for k in votes if k.startswith("server:")]
        return edit(doc, lambda d: votes.__setitem__(server_key, 1_000_000.0))

    code, reason = await send_hostile(server, playlist, forge)
    assert code == WS_4400_REJECTED
    assert "server's vote key" in reason
    await assert_unharmed(server, rest, before)
    assert (await rest.vote(item["id"], "up"))["votes"] == 4


async def test_deleting_clocks_the_server_has_not_reached_deletes_no_later_write(
    server, rest: Rest, playlist
):
    """A delete set for the server's future clocks, kept pending, used to delete the REST
    writes that later took those clocks, after they were answered 2xx."""
    item = await rest.add(1)
    async with raw_peer(server.ws_url, playlist) as ws, ypeer(server.ws_url, playlist) as voter:
        doc = await server_doc(ws)
        clients = _state_clients(doc)
        ahead = yf.deletions_only({client: (0, 2**40) for client in clients})
        await ws.send(yf.update(ahead))
        await voter.wait_until(lambda: item["id"] in voter.items)
        voted = await rest.vote(item["id"], "up")
        added = await rest.add(2)
        voter.vote(item["id"], 1)  # a later update integrates: the pending deletion with it
        items = await wait_rest(rest, lambda items: by_id(items)[item["id"]]["votes"] == 2)
    assert voted["votes"] == 1
    assert set(by_id(items)) == {item["id"], added["id"]}


def _state_clients(doc: Doc) -> list[int]:
    """The client ids in a document's state vector."""
    data, pos, clients = doc.get_state(), 0, []

    def read() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    for _ in range(read()):
        clients.append(read())
        read()  # its clock
    return clients


async def test_a_peer_cannot_write_or_delete_another_peers_vote(server, rest: Rest, playlist):
    item = await rest.add(1)
    async with ypeer(server.ws_url, playlist) as voter:
        await voter.wait_until(lambda: item["id"] in voter.items)
        voter.vote(item["id"], 1)
        voter.vote(item["id"], 1)
        await wait_rest(rest, lambda items: items[0]["votes"] == 2)
        before = await rest.list()
        key = voter.key

        def overwrite(doc: Doc) -> bytes:
            votes = items_of(doc)[item["id"]]["votes"]
            return edit(doc, lambda d: votes.__setitem__(key, -999_997.0))

        def delete(doc: Doc) -> bytes:
            votes = items_of(doc)[item["id"]]["votes"]
            return edit(doc, lambda d: votes.pop(key))

        for hostile, reason_part in ((overwrite, "another writer"), (delete, "deletes the vote")):
            code, reason = await send_hostile(server, playlist, hostile)
            assert code == WS_4400_REJECTED and reason_part in reason, reason
        await assert_unharmed(server, rest, before)
        assert voter.votes(item["id"]) == 2


async def test_huge_votes_and_a_votes_map_replaced_are_refused(server, rest: Rest, playlist):
    item = await rest.add(1)
    for _ in range(4):
        await rest.vote(item["id"], "up")
    before = await rest.list()

    def huge(doc: Doc) -> bytes:
        votes = items_of(doc)[item["id"]]["votes"]
        return edit(doc, lambda d: votes.__setitem__(str(d.client_id), 1e308))

    def replaced(doc: Doc) -> bytes:
        return edit(doc, lambda d: items_of(d)[item["id"]].__setitem__("votes", "none"))

    for hostile in (huge, replaced):
        code, _ = await send_hostile(server, playlist, hostile)
        assert code == WS_4400_REJECTED
    await assert_unharmed(server, rest, before)
    assert (await rest.get(item["id"]))["votes"] == 4


# -- sizes and counts ---------------------------------------------------------------------


async def test_huge_strings_and_too_many_items_are_refused(server, rest: Rest, playlist):
    first = await rest.add(1)
    before = await rest.list()

    def huge_added_by(doc: Doc) -> bytes:
        return edit(doc, lambda d: items_of(d)[first["id"]].__setitem__("added_by", "x" * 900_000))

    def too_many(doc: Doc) -> bytes:
        def add(d: Doc) -> None:
            for n in range(1000):
                items_of(d)[str(uuid.uuid4())] = Map(
                    {"track_id": float(n + 2), "position": float(n + 2), "votes": Map()}
                )

        return edit(doc, add)

    for hostile, reason_part in ((huge_added_by, "1024 bytes"), (too_many, "1000 items")):
        code, reason = await send_hostile(server, playlist, hostile)
        assert code == WS_4400_REJECTED and reason_part in reason, reason
    await assert_unharmed(server, rest, before)


# -- presence -----------------------------------------------------------------------------


async def _awareness_states(ws_url: str, playlist: str) -> dict[int, object]:
    async with raw_peer(ws_url, playlist) as ws:
        await ws.send(bytes([yf.QUERY_AWARENESS]))
        async with asyncio.timeout(WAIT):
            while True:
                frame = yf.parse(await ws.recv())
                if frame.kind == yf.AWARENESS:
                    return _decode_awareness(frame.payload)


def _decode_awareness(payload: bytes) -> dict[int, object]:
    from server.engine.sync import _read_awareness

    return {client: json.loads(state) for client, _, state in _read_awareness(payload)}


async def test_a_connection_cannot_change_anothers_presence(server, playlist):
    async with raw_peer(server.ws_url, playlist) as alice, raw_peer(server.ws_url, playlist) as eve:
        await alice.send(yf.awareness({1111: (1, {"user": "alice"})}))
        async with asyncio.timeout(WAIT):
            while (await _awareness_states(server.ws_url, playlist)).get(1111) != {"user": "alice"}:
                await asyncio.sleep(0.02)
        # Eve overwrites, then removes, Alice's state, and sets her own in the same frame.
        await eve.send(yf.awareness({1111: (5, {"user": "eve"}), 2222: (1, {"user": "eve"})}))
        await eve.send(yf.awareness({1111: (6, None)}))
        async with asyncio.timeout(WAIT):
            while 2222 not in (states := await _awareness_states(server.ws_url, playlist)):
                await asyncio.sleep(0.02)
        assert states[1111] == {"user": "alice"}
        assert states[2222] == {"user": "eve"}


# -- mutated updates: a clear close code, never a panic -------------------------------------


def _real_update() -> bytes:
    doc = Doc(client_id=4_242_424)
    items_of(doc)["m"] = Map(
        {
            "track_id": 3.0,
            "position": 1.0,
            "added_by": "m",
            "added_at": now_iso(),
            "played_at": None,
            "votes": Map({"4242424": 1.0}),
            "track": {"title": "t", "tags": ["a", {"b": 1}]},
        }
    )
    return doc.get_update()


REAL_UPDATE = _real_update()


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    from tests.conftest import ServerProcess, seed_tracks

    db = tmp_path_factory.mktemp("gate-fuzz") / "playsync.db"
    proc = ServerProcess(db_path=db)
    seed_tracks(proc.database_url)
    proc.start()
    yield proc
    proc.stop()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_mutated_updates_close_clearly_and_harm_no_one(fuzz_server, data):
    update = bytearray(REAL_UPDATE)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(update) - 1))
        update[at] ^= 1 << data.draw(st.integers(0, 7))
    name = f"fz-{uuid.uuid4().hex[:10]}"
    async with httpx.AsyncClient(base_url=fuzz_server.base_url, timeout=30) as client:
        rest = Rest(client, name)
        anchor = await rest.add(1)
        before = await rest.list()
        async with raw_peer(fuzz_server.ws_url, name) as ws:
            await ws.send(yf.update(bytes(update)))
            await ws.send(yf.step1())  # answered unless the connection was closed
            try:
                async with asyncio.timeout(WAIT):
                    while True:
                        frame = yf.parse(await ws.recv())
                        if (frame.kind, frame.sub) == (yf.SYNC, yf.STEP2):
                            break
                code = None
            except websockets.ConnectionClosed:
                code = ws.close_code
        assert code in (None, WS_1007_INVALID_PAYLOAD, WS_4400_REJECTED), code
        assert (await client.get("/health")).status_code == 200
        after = await rest.list()
        if code is not None:
            assert after == before
        assert anchor["id"] in by_id(after)
    text = LogWindow(fuzz_server).proc.log()
    assert "Traceback" not in text, text[-3000:]


async def test_refused_writes_leave_nothing_stored_across_a_restart(make_server):
    proc = make_server()
    name = "restart-gate"
    async with httpx.AsyncClient(base_url=proc.base_url, timeout=30) as client:
        rest = Rest(client, name)
        item = await rest.add(1)
        await rest.vote(item["id"], "up")
        before = await rest.list()

        def forge(doc: Doc) -> bytes:
            votes = items_of(doc)[item["id"]]["votes"]
            (key,) = list(votes.keys())
            return edit(doc, lambda d: votes.__setitem__(key, 1e6))

        assert (await send_hostile(proc, name, forge))[0] == WS_4400_REJECTED
        update = _nested_item_update("track", 20_000)
        assert (await send_hostile(proc, name, lambda doc: update))[0] == WS_4400_REJECTED
    proc.stop()
    proc.start()
    async with httpx.AsyncClient(base_url=proc.base_url, timeout=30) as client:
        assert await Rest(client, name).list() == before
