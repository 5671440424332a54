"""A read-only session in the y-websocket protocol (CONTRACT §8), in process.

Its sync step 2 and updates are ignored: not applied, not relayed, not stored,
and no error (the connection stays open); it is told once, with the protocol's
auth message. Sync step 1 and awareness work as for anyone.
"""

from __future__ import annotations

from pycrdt import (
    Awareness,
    Doc,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    create_update_message,
)

from crdt import operations as ops
from server.engine.memory_store import MemoryStore
from server.engine.rooms import RoomManager
from server.engine.sync import MESSAGE_AUTH, PeerSession, handle_message

from .conftest import FakePeer

STEP2 = bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2])


def an_edit() -> bytes:
    replica = Doc()
    updates: list[bytes] = []
    replica.observe(lambda event: updates.append(event.update))
    ops.add_item(replica, item_id="a", track_id=3, added_by="reader", added_at="t")
    return updates[0]


async def test_a_read_only_peers_updates_are_ignored_and_it_is_told_once(
    rooms: RoomManager, store: MemoryStore
) -> None:
    room = await rooms.get("p")
    reader, other = FakePeer(1), FakePeer(2)
    room.add_peer(reader)
    room.add_peer(other)
    session = PeerSession(reader, read_only=True)
    update = an_edit()

    handle_message(room, session, create_update_message(update))
    handle_message(room, session, STEP2 + create_update_message(update)[2:])  # as step 2

    assert not room.playlist.items
    assert other.sent == []
    await room.persisted()
    assert store.appends == 0
    (told,) = reader.sent
    assert told[0] == MESSAGE_AUTH and b"read-only" in told


async def test_a_read_only_peer_still_syncs_and_shares_presence(rooms: RoomManager) -> None:
    room = await rooms.get("p")
    reader, other = FakePeer(1), FakePeer(2)
    room.add_peer(reader)
    room.add_peer(other)
    session = PeerSession(reader, read_only=True)

    handle_message(room, session, create_sync_message(Doc()))
    assert reader.sent[0][:2] == STEP2

    awareness = Awareness(Doc())
    awareness.set_local_state({"user": "reader"})
    frame = create_awareness_message(awareness.encode_awareness_update([awareness.client_id]))
    handle_message(room, session, frame)
    assert room.awareness.states[awareness.client_id] == {"user": "reader"}
    assert other.sent and other.sent[-1][0] == YMessageType.AWARENESS
