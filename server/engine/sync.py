"""The y-websocket protocol on a room: pure message handling, no sockets.

A frame is ``varUint type`` then a payload (FIELD-NOTES): 0 sync (step 1,
step 2, update), 1 awareness, 2 auth, 3 query awareness. Decoding is strict:
a truncated or malformed frame raises :class:`ProtocolError` before anything
is applied, and the caller closes that one connection. Unknown message types
are ignored, as the reference server does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pycrdt import (
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    write_message,
)

from .origins import PeerOrigin
from .room import EMPTY_UPDATE, Peer, Room

MESSAGE_AUTH = 2
MESSAGE_QUERY_AWARENESS = 3


class ProtocolError(ValueError):
    """The peer sent something that is not a valid y-websocket message."""


@dataclass
class PeerSession:
    """What the protocol remembers about one connection."""

    peer: Peer
    awareness_clients: set[int] = field(default_factory=set)

    @property
    def origin(self) -> PeerOrigin:
        return PeerOrigin(self.peer.connection_id)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def var_uint(self) -> int:
        value, shift = 0, 0
        while True:
            if self.pos >= len(self.data):
                raise ProtocolError("truncated varUint")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            if shift > 63:
                raise ProtocolError("varUint too long")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        end = self.pos + length
        if end > len(self.data):
            raise ProtocolError("truncated payload")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("invalid UTF-8") from exc


def state_vector(data: bytes) -> dict[int, int]:
    """Decode a state vector: ``varUint n``, then n pairs of ``client, clock``."""
    reader = _Reader(data)
    entries = {}
    for _ in range(reader.var_uint()):
        client = reader.var_uint()
        entries[client] = reader.var_uint()
    return entries


def _carries_structs(update: bytes) -> bool:
    """An update v1 starts with its number of per-client struct groups (0: deletions only)."""
    return bool(update) and update[0] != 0


def _advanced(room: Room, before: dict[int, int]) -> bool:
    """Whether a peer's clock moved (the server's own moves when it repairs)."""
    after = state_vector(room.doc.get_state())
    own = room.doc.client_id
    return any(clock != before.get(client, 0) for client, clock in after.items() if client != own)


def _awareness_message(room: Room, clients: list[int]) -> bytes:
    """An awareness frame with the room's current states (or removals) of ``clients``."""
    return create_awareness_message(room.awareness.encode_awareness_update(clients))


def greeting(room: Room) -> list[bytes]:
    """What the server sends on connect: its state vector, and who else is here."""
    messages = [create_sync_message(room.doc)]
    clients = list(room.awareness.states)
    if clients:
        messages.append(_awareness_message(room, clients))
    return messages


def handle_message(room: Room, session: PeerSession, data: bytes) -> None:
    """Apply one frame from a peer; replies go out through the peer and the room."""
    reader = _Reader(data)
    message_type = reader.var_uint()
    if message_type == YMessageType.SYNC:
        _handle_sync(room, session, reader)
    elif message_type == YMessageType.AWARENESS:
        _handle_awareness(room, session, reader.var_bytes())
    elif message_type == MESSAGE_QUERY_AWARENESS:
        session.peer.send(_awareness_message(room, list(room.awareness.states)))
    # MESSAGE_AUTH and unknown types: nothing to do.


def _handle_sync(room: Room, session: PeerSession, reader: _Reader) -> None:
    sync_type = reader.var_uint()
    payload = reader.var_bytes()
    if sync_type == YSyncMessageType.SYNC_STEP1:
        try:
            update = room.doc.get_update(payload)
        except ValueError as exc:
            raise ProtocolError("invalid state vector") from exc
        message = bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2]) + write_message(update)
        session.peer.send(message)
    elif sync_type in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE):
        if payload == EMPTY_UPDATE:
            return
        before = state_vector(room.doc.get_state())
        try:
            room.apply_update(payload, session.origin)
        except (ValueError, RuntimeError) as exc:  # undecodable, or decodable but inapplicable
            raise ProtocolError(f"invalid update: {exc}"[:200]) from exc
        if _carries_structs(payload) and not _advanced(room, before):
            # Nothing integrated: the update waits on one we have not seen (or we had it
            # already). pycrdt 0.14 can lose such a pending update for good once its
            # dependency arrives, so ask the peers again for everything we lack.
            room.ask_peers_for_missing()
    else:
        raise ProtocolError(f"unknown sync message type {sync_type}")


def _handle_awareness(room: Room, session: PeerSession, update: bytes) -> None:
    reader = _Reader(update)
    clients = []
    for _ in range(reader.var_uint()):
        client_id = reader.var_uint()
        reader.var_uint()  # clock
        state = reader.var_string()
        try:
            json.loads(state)
        except ValueError as exc:
            raise ProtocolError("awareness state is not JSON") from exc
        clients.append(client_id)
    before = set(room.awareness.states)
    changed: list[int] = []

    def collect(topic: str, args: tuple[dict[str, Any], Any]) -> None:
        if topic == "update":
            changes = args[0]
            changed.extend(changes["added"] + changes["updated"] + changes["removed"])

    subscription = room.awareness.observe(collect)
    try:
        room.awareness.apply_awareness_update(update, session.origin)
    finally:
        room.awareness.unobserve(subscription)
    after = set(room.awareness.states)
    # y-websocket clients re-send every awareness change they receive, so a frame also
    # carries other peers' states. A connection owns only the states it introduced;
    # owning relayed ones would wipe live peers' states when this one leaves.
    session.awareness_clients.update((after - before).intersection(clients))
    session.awareness_clients.difference_update(before - after)
    if changed:
        # Only what changed, as the reference server does: relaying every frame would echo
        # each change back from all N clients (they re-send what they apply), N² messages.
        # Everyone gets it, the sender too: y-websocket clients count it as a sign of life.
        room.broadcast(_awareness_message(room, changed))


def forget_peer(room: Room, session: PeerSession) -> None:
    """Drop a departed peer's awareness states and tell the others."""
    clients = [c for c in session.awareness_clients if c in room.awareness.states]
    if not clients:
        return
    room.awareness.remove_awareness_states(clients, session.origin)
    room.broadcast(_awareness_message(room, clients))
