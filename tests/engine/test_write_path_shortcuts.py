"""What a write skips, and that skipping it changes nothing a client can see.

Three shortcuts on the path of a write (issue 14): the gate indexes a loaded room only
when a peer first writes, and then from the document's state; a change that moves no
item, swaps no track and touches no playback skips the scan for repairs; and the
projection says whether the document holds its order mode, so REST writes stop writing
it once it is there.
"""

from __future__ import annotations

import pytest
from pycrdt import Doc
from pycrdt import create_update_message as update_message

from crdt import operations as ops
from crdt import schema as s
from crdt.projection import project, reproject
from crdt.repairs import repair_unaffected
from server.engine.gate import Rejected, gate_of
from server.engine.memory_store import MemoryStore
from server.engine.origins import REMOTE, REST
from server.engine.rooms import RoomManager
from server.engine.sync import handle_message

from .test_dormant_rooms import add, connect, leave, manager, updates_of


async def test_a_loaded_room_builds_its_gate_index_only_when_a_peer_writes(store: MemoryStore):
    async with manager(store) as rooms:
        room = await rooms.get("p")
        for n in range(1, 30):  # many stored rows, each a REST write
            add(room, f"i{n}", n)
            room.transact(REST, ops.vote, f"i{n}", "server:k", 1)
            await room.persisted()
    async with manager(store) as rooms:
        room = await rooms.get("p")
        gate = gate_of(room)
        assert gate is not None and gate.index is None  # loading decoded nothing
        room.transact(REST, ops.vote, "i1", "server:k", 1)
        assert gate.index is None  # nor did a REST write
        forger = Doc()
        peer, session = connect(room, 1, forger)
        sent = updates_of(forger)
        ops.vote(forger, "i2", str(forger.client_id), 1)
        handle_message(room, session, update_message(sent[-1]))
        assert gate.index is not None
        assert room.playlist.get("i2").votes == 2
        leave(room, peer, session)


async def test_a_peer_cannot_forge_a_server_vote_in_a_room_loaded_from_storage(
    store: MemoryStore,
):
    async with manager(store) as rooms:
        room = await rooms.get("p")
        add(room, "a", 1)
        room.transact(REST, ops.vote, "a", "server:k", 3)
        await room.persisted()
    async with manager(store) as rooms:
        room = await rooms.get("p")
        forger = Doc()
        peer, session = connect(room, 1, forger)
        sent = updates_of(forger)
        ops.vote(forger, "a", "server:k", 100)  # overwrite the server's own vote key
        with pytest.raises(Rejected):  # its connection is closed for it
            handle_message(room, session, update_message(sent[-1]))
        leave(room, peer, session)
        assert room.playlist.get("a").votes == 3


def _items(doc: Doc) -> None:
    for n, track_id in enumerate((1, 2, 3), start=1):
        ops.add_item(
            doc,
            item_id=f"i{n}",
            track_id=track_id,
            added_by="t",
            added_at=f"2024-01-0{n}T00:00:00Z",
            position=float(n),
        )


def test_only_a_change_that_leaves_tracks_positions_and_playback_alone_skips_the_scan():
    doc = Doc()
    _items(doc)
    before = project(doc)

    def after(change) -> bool:
        change(doc)
        return repair_unaffected(before, reproject(doc, before, {"i1"}), {"i1"})

    assert after(lambda d: ops.vote(d, "i1", "server:k", 1))
    before = project(doc)
    assert not after(lambda d: ops.move_item(d, "i1", 2.5))
    before = project(doc)
    assert not after(lambda d: ops.play(d, "i1", "2024-02-01T00:00:00Z"))
    before = project(doc)
    assert not after(lambda d: s.items_map(d)["i1"].__setitem__(s.TRACK_ID, 2.0))


async def test_after_many_votes_a_change_that_needs_a_repair_still_gets_one(rooms: RoomManager):
    room = await rooms.get("p")
    for n in range(1, 4):
        add(room, f"i{n}", n, added_at=f"2024-01-0{n}T00:00:00Z")
    for _ in range(20):  # every one skips the scan
        room.transact(REST, ops.vote, "i3", "server:k", 1)
    # Another process's update gives item i3 the track of i1: a duplicate, merged at once.
    other = Doc()
    other.apply_update(room.doc.get_update())
    s.items_map(other)["i3"][s.TRACK_ID] = 1.0
    room.apply_update(other.get_update(room.doc.get_state()), REMOTE)
    assert [item.id for item in room.playlist.items] == ["i1", "i2"]
    assert room.playlist.get("i1").votes == 20  # the duplicate's votes carried over


async def test_rest_writes_store_the_order_mode_again_once_a_peer_deleted_it(
    rooms: RoomManager,
):
    room = await rooms.get("p")
    add(room, "a", 1)
    room.transact(REST, ops.ensure_settings, False)  # what a first REST write does
    assert room.playlist.auto_sort_stored
    room.transact(REMOTE, lambda doc: s.settings_map(doc).pop(s.AUTO_SORT_BY_VOTES))
    assert not room.playlist.auto_sort_stored  # the API's next write stores it again
