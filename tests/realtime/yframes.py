"""Build and read y-websocket frames (FIELD-NOTES, "y-websocket protocol").

A frame is ``varUint message type`` then a payload: 0 sync (``varUint`` subtype 0 step 1 with a
state vector, 1 step 2 with an update, 2 update; the payload as ``varUint length + bytes``),
1 awareness (``varUint length + awareness update``), 3 query awareness.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pycrdt import (
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    write_var_uint,
)

SYNC = int(YMessageType.SYNC)
AWARENESS = int(YMessageType.AWARENESS)
QUERY_AWARENESS = 3
STEP1 = int(YSyncMessageType.SYNC_STEP1)
STEP2 = int(YSyncMessageType.SYNC_STEP2)
UPDATE = int(YSyncMessageType.SYNC_UPDATE)

__all__ = [
    "AWARENESS",
    "QUERY_AWARENESS",
    "STEP1",
    "STEP2",
    "SYNC",
    "UPDATE",
    "Frame",
    "awareness",
    "awareness_update",
    "create_awareness_message",
    "create_sync_message",
    "create_update_message",
    "deletions_only",
    "parse",
    "step1",
    "step2",
    "update",
    "var_bytes",
    "write_var_uint",
]


def deletions_only(ranges: dict[int, tuple[int, int]]) -> bytes:
    """A v1 update with no structs, deleting one clock range ``(clock, length)`` per client."""
    body = write_var_uint(0) + write_var_uint(len(ranges))
    for client, (clock, length) in ranges.items():
        body += write_var_uint(client) + write_var_uint(1)
        body += write_var_uint(clock) + write_var_uint(length)
    return body


def var_bytes(data: bytes) -> bytes:
    """``varUint length`` then the bytes (lib0's ``writeVarUint8Array``)."""
    return write_var_uint(len(data)) + data


def step1(state_vector: bytes = b"\x00") -> bytes:
    """Sync step 1 with a state vector (``b"\\x00"``: an empty document)."""
    return bytes([SYNC, STEP1]) + var_bytes(state_vector)


def step2(update_bytes: bytes) -> bytes:
    return bytes([SYNC, STEP2]) + var_bytes(update_bytes)


def update(update_bytes: bytes) -> bytes:
    return bytes([SYNC, UPDATE]) + var_bytes(update_bytes)


def awareness_update(states: dict[int, tuple[int, object]]) -> bytes:
    """An awareness update: ``{client_id: (clock, state)}`` with JSON states."""
    out = write_var_uint(len(states))
    for client_id, (clock, state) in states.items():
        encoded = json.dumps(state).encode()
        out += write_var_uint(client_id) + write_var_uint(clock) + var_bytes(encoded)
    return out


def awareness(states: dict[int, tuple[int, object]]) -> bytes:
    return bytes([AWARENESS]) + var_bytes(awareness_update(states))


@dataclass(frozen=True)
class Frame:
    """A decoded frame: ``kind`` (0 sync, 1 awareness, …), ``sub`` (sync subtype), ``payload``."""

    kind: int
    sub: int | None
    payload: bytes


def _read_var_uint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def parse(data: bytes) -> Frame:
    kind, pos = _read_var_uint(data, 0)
    sub = None
    if kind == SYNC:
        sub, pos = _read_var_uint(data, pos)
    if kind in (SYNC, AWARENESS):
        length, pos = _read_var_uint(data, pos)
        payload = data[pos : pos + length]
        assert len(payload) == length, "truncated frame from the server"
        return Frame(kind, sub, payload)
    return Frame(kind, sub, data[pos:])
