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
    Awareness,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    write_message,
    write_var_uint,
)

from .gate import Incomplete, gate_of
from .origins import PeerOrigin
from .room import EMPTY_UPDATE, Peer, Room

MESSAGE_AUTH = 2
MESSAGE_PERMISSION_DENIED = 0  # the auth message's one subtype (y-protocols/auth)
READ_ONLY_REASON = "read-only access: document updates are ignored"
MESSAGE_QUERY_AWARENESS = 3
MAX_AWARENESS_DEPTH = 32


class ProtocolError(ValueError):
    """The peer sent something that is not a valid y-websocket message."""


@dataclass
class PeerSession:
    """What the protocol remembers about one connection."""

    peer: Peer
    awareness_clients: set[int] = field(default_factory=set)
    read_only: bool = False
    """A ``read`` token (CONTRACT §8): syncs and shares presence, its updates are ignored."""
    told_read_only: bool = False

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
            message = room.derived(("step2", payload), lambda: _sync_step2(room, payload))
        except ValueError as exc:
            raise ProtocolError("invalid state vector") from exc
        session.peer.send(message)
    elif sync_type in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE):
        if payload == EMPTY_UPDATE:
            return
        if session.read_only:  # before the gate: ignored, not judged (CONTRACT §8)
            _ignore_read_only_update(session)
            return
        # The gate knows whether the update depends on anything missing; without it, an
        # update that integrated nothing is the only sign (see below).
        before = None if gate_of(room) is not None else state_vector(room.doc.get_state())
        try:
            # The gate judges it first (CONTRACT §9): Rejected propagates (closed with 4400).
            room.apply_update(payload, session.origin)
        except Incomplete:
            # It builds on structs we have not seen, so what it writes cannot be judged
            # yet: apply none of it, and ask the peers for everything we lack.
            room.ask_peers_for_missing()
            return
        except (ValueError, RuntimeError) as exc:  # undecodable (Malformed), or inapplicable
            raise ProtocolError(f"invalid update: {exc}"[:200]) from exc
        except BaseException as exc:
            if type(exc).__name__ != "PanicException":  # pyo3's, a BaseException
                raise
            raise ProtocolError("update could not be applied") from None
        if before is not None and _carries_structs(payload) and not _advanced(room, before):
            # Nothing integrated: the update waits on one we have not seen (or we had it
            # already). pycrdt 0.14 can lose such a pending update for good once its
            # dependency arrives, so ask the peers again for everything we lack.
            room.ask_peers_for_missing()
    else:
        raise ProtocolError(f"unknown sync message type {sync_type}")


def _sync_step2(room: Room, state_vector: bytes) -> bytes:
    """What the room has that ``state_vector`` lacks, as a sync step 2 message."""
    update = room.doc.get_update(state_vector)
    return bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2]) + write_message(update)


def _ignore_read_only_update(session: PeerSession) -> None:
    """A read-only peer's update is not applied, relayed or stored; the connection stays.

    The peer is told once, with y-websocket's auth message (permission denied),
    which the provider reports as a warning, as y-sweet does for read-only tokens.
    """
    if not session.told_read_only:
        session.told_read_only = True
        reason = write_message(READ_ONLY_REASON.encode())  # a lib0 varString
        session.peer.send(bytes([MESSAGE_AUTH, MESSAGE_PERMISSION_DENIED]) + reason)


def _read_awareness(update: bytes) -> list[tuple[int, int, str]]:
    """The entries of an awareness update: ``(client id, clock, JSON state)``."""
    reader = _Reader(update)
    entries = []
    for _ in range(reader.var_uint()):
        client_id = reader.var_uint()
        clock = reader.var_uint()
        state = reader.var_string()
        try:
            value = json.loads(state)
        except (ValueError, RecursionError):
            raise ProtocolError("awareness state is not JSON") from None
        if _nesting(value) > MAX_AWARENESS_DEPTH:
            raise ProtocolError(f"awareness state nested deeper than {MAX_AWARENESS_DEPTH}")
        entries.append((client_id, clock, state))
    if reader.pos != len(update):
        raise ProtocolError("bytes after the end of the awareness update")
    return entries


def _nesting(value: Any) -> int:
    """How deep JSON containers nest in ``value`` (iteratively)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            children = current.values() if isinstance(current, dict) else current
            stack.extend((child, depth) for child in children)
    return deepest


def _encode_awareness(entries: list[tuple[int, int, str]]) -> bytes:
    out = bytearray(write_var_uint(len(entries)))
    for client_id, clock, state in entries:
        encoded = state.encode()
        out += write_var_uint(client_id) + write_var_uint(clock)
        out += write_var_uint(len(encoded)) + encoded
    return bytes(out)


def apply_awareness_update(awareness: Awareness, update: bytes, origin: object) -> list[int]:
    """Apply an awareness update; the client ids whose state it added, changed or removed
    (pycrdt reports them only to observers)."""
    changed: list[int] = []

    def collect(topic: str, args: tuple[dict[str, Any], Any]) -> None:
        if topic == "update":
            changes = args[0]
            changed.extend(changes["added"] + changes["updated"] + changes["removed"])

    subscription = awareness.observe(collect)
    try:
        awareness.apply_awareness_update(update, origin)
    finally:
        awareness.unobserve(subscription)
    return changed


def _handle_awareness(room: Room, session: PeerSession, update: bytes) -> None:
    entries = _read_awareness(update)
    states = room.awareness.states
    # A connection sets and removes only the states of client ids it introduced
    # (CONTRACT §4): a client id is introduced by the first connection that sets it
    # while it has no state. Others' entries are dropped quietly: y-websocket clients
    # re-send every change they receive, so frames carry other peers' states too.
    mine = [e for e in entries if e[0] in session.awareness_clients or e[0] not in states]
    if not mine:
        return
    if len(mine) != len(entries):
        update = _encode_awareness(mine)
    clients = [client_id for client_id, _, _ in mine]
    before = set(room.awareness.states)
    changed = apply_awareness_update(room.awareness, update, session.origin)
    after = set(room.awareness.states)
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
