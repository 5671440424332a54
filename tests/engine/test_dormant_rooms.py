"""Dormant rooms: an idle room drops its live document and keeps its encoded state.

Whatever needs the document afterwards (a REST write, a peer, another process's update,
a repair) wakes it first, and the room behaves exactly as one that never slept.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pycrdt import Awareness, Doc, create_awareness_message, create_sync_message
from pycrdt import create_update_message as update_message

from crdt import operations as ops
from crdt.projection import project
from crdt.schema import items_map
from server.engine.bus import LocalBus
from server.engine.extensions import RoomExtension
from server.engine.gate import Rejected
from server.engine.memory_store import MemoryStore
from server.engine.origins import REST
from server.engine.room import Room
from server.engine.rooms import RoomManager, RoomSettings, seq_base
from server.engine.sync import PeerSession, forget_peer, greeting, handle_message

from .conftest import FakePeer, render

PEER_CLIENT = 1001
OTHER_PROCESS_CLIENT = 2002
WAIT = 10.0


@contextlib.asynccontextmanager
async def manager(
    store: MemoryStore, *, extensions: tuple = (), bus: LocalBus | None = None, **settings: Any
) -> AsyncIterator[RoomManager]:
    settings = {"batch_delay": 0.01, "dormant_seconds": 0, "catch_up_seconds": 0.05} | settings
    async with RoomManager(
        store, render, bus=bus, settings=RoomSettings(**settings), extensions=extensions
    ) as rooms:
        yield rooms


async def eventually(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.01)


def add(room: Room, item_id: str, track_id: int, added_at: str = "2024-01-01T00:00:00Z") -> None:
    room.transact(
        REST, ops.add_item, item_id=item_id, track_id=track_id, added_by="t", added_at=added_at
    )


def asleep(room: Room) -> None:
    room.sleep()
    assert room.dormant


def updates_of(doc: Doc) -> list[bytes]:
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    return updates


def connect(room: Room, connection_id: int, replica: Doc) -> tuple[FakePeer, PeerSession]:
    """A peer joins: it gets the greeting, sends its sync step 1, gets what it lacks."""
    peer = FakePeer(connection_id)
    session = PeerSession(peer)
    room.add_peer(peer)
    peer.sent.extend(greeting(room))
    handle_message(room, session, create_sync_message(replica))
    step2 = peer.sent[-1]
    replica.apply_update(_payload(step2))
    return peer, session


def leave(room: Room, peer: FakePeer, session: PeerSession) -> None:
    room.remove_peer(peer)
    forget_peer(room, session)


def _payload(sync_message: bytes) -> bytes:
    """The update inside a sync step 2 or update message (type, subtype, varUint length)."""
    data, pos, length, shift = sync_message, 2, 0, 0
    while True:
        byte = data[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            return data[pos : pos + length]
        shift += 7


async def scenario(room: Room, *, sleeping: bool) -> None:
    """REST writes, a peer, another process's update that needs a repair: with or without
    a sleep before each step."""

    def nap() -> None:
        if sleeping:
            asleep(room)

    add(room, "a", 1)
    add(room, "b", 2)
    add(room, "c", 3)
    room.transact(REST, ops.vote, "a", "server:k", 1)
    await room.persisted()
    nap()
    room.transact(REST, ops.move_item, "b", 0.5)
    room.transact(REST, ops.play, "c", "2024-01-01T00:01:00Z")
    await room.persisted()
    nap()
    replica = Doc(client_id=PEER_CLIENT)
    peer, session = connect(room, 7, replica)
    sent = updates_of(replica)
    ops.add_item(replica, item_id="d", track_id=4, added_by="peer", added_at="2024-01-02")
    ops.vote(replica, "a", str(PEER_CLIENT), 1)
    for update in sent:
        handle_message(room, session, update_message(update))
    leave(room, peer, session)
    await room.persisted()
    nap()
    # Another process stored a second copy of track 1 (a merge): applied, then repaired.
    other = Doc(client_id=OTHER_PROCESS_CLIENT)
    ops.add_item(other, item_id="e", track_id=1, added_by="o", added_at="2024-02-01")
    ops.vote(other, "e", "server:other", 2)
    room.apply_remote(other.get_update())
    await room.persisted()


async def test_a_room_that_slept_between_every_step_ends_as_one_that_never_did(
    store: MemoryStore,
):
    async with manager(store) as rooms:
        slept, awake = await rooms.get("slept"), await rooms.get("awake")
        await scenario(slept, sleeping=True)
        await scenario(awake, sleeping=False)
        assert slept.playlist == awake.playlist
        assert [item.id for item in slept.playlist.items] == ["b", "a", "c", "d"]
        assert slept.playlist.get("a").votes == 4  # 1 + the peer's 1 + e's 2, merged
        assert items_map(slept.doc).to_py() == items_map(awake.doc).to_py()
        base = seq_base(rooms.epoch)
        assert [(m.seq, m.type) for m in slept.events.missed_since(base)] == [
            (m.seq, m.type) for m in awake.events.missed_since(base)
        ]


async def test_waking_keeps_the_client_id_and_the_state_vector(store: MemoryStore):
    async with manager(store) as rooms:
        room = await rooms.get("p")
        add(room, "a", 1)
        await room.persisted()
        client_id, state = room.client_id, room.doc.get_state()
        asleep(room)
        assert room.client_id == client_id
        assert room.doc.get_state() == state
        assert room.doc.client_id == client_id
        assert not room.dormant


async def test_a_peer_that_synced_before_the_sleep_applies_the_servers_later_writes(
    store: MemoryStore,
):
    class Updates(RoomExtension):
        def __init__(self) -> None:
            self.seen: list[bytes] = []

        def on_update(self, room: Room, updates: list[bytes], origin: Any) -> None:
            self.seen.extend(updates)

    recorder = Updates()
    async with manager(store, extensions=(lambda room: recorder,)) as rooms:
        room = await rooms.get("p")
        add(room, "a", 1)
        room.transact(REST, ops.vote, "a", "server:k", 1)
        await room.persisted()
        replica = Doc()
        replica.apply_update(room.doc.get_update())
        asleep(room)
        recorder.seen.clear()
        room.transact(REST, ops.vote, "a", "server:k", 2)  # the same key again: its clock
        add(room, "b", 2)
        # Each update alone, as a connected peer would get it: had the server restarted its
        # clock under the same id, the replica would take them for structs it already has.
        for update in recorder.seen:
            replica.apply_update(update)
        assert replica.get_state() == room.doc.get_state()
        assert project(replica) == room.playlist
        assert room.playlist.get("a").votes == 3


async def test_a_dormant_room_serves_its_projection_and_events_without_waking(
    store: MemoryStore,
):
    async with manager(store) as rooms:
        room = await rooms.get("p")
        add(room, "a", 1)
        add(room, "b", 2)
        await room.persisted()
        seq = room.events.seq
        before = [(m.seq, m.type) for m in room.events.missed_since(seq - 2)]
        asleep(room)
        assert [item.id for item in room.playlist.items] == ["a", "b"]
        assert room.memo("ids", lambda p: [i.id for i in p.items]) == ["a", "b"]
        listener = room.listen()
        assert room.snapshot_message().type == "playlist.updated"
        assert [(m.seq, m.type) for m in room.events.missed_since(seq - 2)] == before
        assert room.dormant
        add(room, "c", 3)  # wakes it; numbering goes on
        assert not room.dormant
        assert [(m.seq, m.type) for m in room.events.missed_since(seq)] == [
            (seq + 1, "track.added")
        ]
        assert listener.queue[-1].seq == seq + 1
        room.unlisten(listener)


async def test_the_gate_still_judges_peers_after_a_wake(store: MemoryStore):
    async with manager(store) as rooms:
        room = await rooms.get("p")
        add(room, "a", 1)
        await room.persisted()
        asleep(room)
        forger = Doc()
        peer, session = connect(room, 1, forger)
        sent = updates_of(forger)
        ops.vote(forger, "a", "server:forged", 5)
        with pytest.raises(Rejected):  # its connection is closed for it
            handle_message(room, session, update_message(sent[-1]))
        leave(room, peer, session)
        assert room.playlist.get("a").votes == 0
        asleep(room)
        voter = Doc()
        peer, session = connect(room, 2, voter)
        sent = updates_of(voter)
        ops.vote(voter, "a", str(voter.client_id), 1)  # its own key: fine
        handle_message(room, session, update_message(sent[-1]))
        assert room.playlist.get("a").votes == 1
        leave(room, peer, session)


async def test_a_dormant_room_unloads_without_storing_anything(store: MemoryStore):
    async with manager(store) as rooms:
        room = await rooms.get("p")
        add(room, "a", 1)
        await room.persisted()
        playlist, appends = room.playlist, store.appends
        asleep(room)
        assert await rooms.unload("p")
        assert store.appends == appends
        again = await rooms.get("p")
        assert again is not room
        assert again.playlist.items == playlist.items


async def test_an_idle_room_falls_asleep_and_one_in_use_does_not(store: MemoryStore):
    async with manager(store, dormant_seconds=0.05) as rooms:
        idle, listened = await rooms.get("idle"), await rooms.get("listened")
        listener = listened.listen()
        add(idle, "a", 1)
        add(listened, "a", 1)
        await eventually(lambda: idle.dormant)
        assert not listened.dormant
        async with rooms.use("idle") as room:  # a GET: reads the projection, stays asleep
            assert room is idle and room.dormant and room.playlist.get("a") is not None
        listened.unlisten(listener)
        await eventually(lambda: listened.dormant)


async def test_another_process_wakes_a_dormant_room_through_the_bus_and_gets_its_presence(
    store: MemoryStore,
):
    bus = LocalBus()
    async with manager(store, bus=bus) as first, manager(store, bus=bus) as second:
        here, there = await first.get("p"), await second.get("p")
        asleep(there)
        # A peer on the first process, with presence.
        peer, session = connect(here, 1, Doc())
        presence = Awareness(Doc())
        presence.set_local_state({"user": "ada"})
        handle_message(
            here,
            session,
            create_awareness_message(presence.encode_awareness_update([presence.client_id])),
        )
        assert there.dormant  # presence alone does not wake it
        add(here, "a", 1)
        await here.persisted()
        await eventually(lambda: there.playlist.get("a") is not None)
        assert not there.dormant
        # Woken, it asked the others for their peers' presence again.
        assert there.awareness.states[presence.client_id] == {"user": "ada"}
        leave(here, peer, session)


async def test_the_database_catch_up_wakes_a_dormant_room(store: MemoryStore):
    async with manager(store) as first, manager(store) as second:
        here, there = await first.get("p"), await second.get("p")
        asleep(there)
        add(here, "a", 1)
        await here.persisted()
        await eventually(lambda: there.playlist.get("a") is not None)
        assert not there.dormant
        assert there.doc.get_state() == here.doc.get_state()
