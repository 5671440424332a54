"""The y-websocket protocol in process (``server.engine.sync``), against fake peers."""

from __future__ import annotations

from pycrdt import (
    Doc,
    YMessageType,
    YSyncMessageType,
    create_sync_message,
    create_update_message,
)

from crdt import operations as ops
from server.engine.rooms import RoomManager
from server.engine.sync import PeerSession, greeting, handle_message

from .conftest import FakePeer


def _kind(message: bytes) -> tuple[int, int]:
    return message[0], message[1]


async def test_a_new_peer_gets_the_servers_state_vector(rooms: RoomManager):
    room = await rooms.get("p")
    (first,) = greeting(room)
    assert _kind(first) == (YMessageType.SYNC, YSyncMessageType.SYNC_STEP1)


async def test_sync_step_1_is_answered_with_what_the_peer_lacks(rooms: RoomManager):
    room = await rooms.get("p")
    peer = FakePeer(1)
    room.add_peer(peer)
    handle_message(room, PeerSession(peer), create_sync_message(Doc()))
    (answer,) = peer.sent
    assert _kind(answer) == (YMessageType.SYNC, YSyncMessageType.SYNC_STEP2)


async def test_an_update_is_applied_relayed_to_others_and_not_echoed(rooms: RoomManager):
    room = await rooms.get("p")
    sender, other = FakePeer(1), FakePeer(2)
    room.add_peer(sender)
    room.add_peer(other)
    replica = Doc()
    updates: list[bytes] = []
    replica.observe(lambda event: updates.append(event.update))
    ops.add_item(replica, item_id="a", track_id=3, added_by="peer", added_at="t")
    handle_message(room, PeerSession(sender), create_update_message(updates[0]))
    assert [item.id for item in room.playlist.items] == ["a"]
    assert sender.sent == []
    assert [_kind(m) for m in other.sent] == [(YMessageType.SYNC, YSyncMessageType.SYNC_UPDATE)]
    await room.persisted()
