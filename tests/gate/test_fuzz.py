"""Fuzzing the frame reader and the update path in-process (server/engine/sync.py + gate).

Whatever a peer sends, ``handle_message`` either handles it or raises ProtocolError (closed
with 1007) or Rejected (closed with 4400); when it raises, the document is exactly as it
was. Random bytes, mutations of real frames, and deep nesting.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map

from crdt import operations as op
from server.engine.gate import GateExtension, GateLimits, Rejected
from server.engine.origins import REST
from server.engine.room import Room
from server.engine.storage import StoredDocument
from server.engine.sync import PeerSession, ProtocolError, handle_message
from tests.realtime import yframes as yf

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@dataclass
class FakePeer:
    connection_id: int
    sent: list[bytes] = field(default_factory=list)

    def send(self, message: bytes) -> None:
        self.sent.append(message)


def _room() -> Room:
    """A room with the gate and no storage: enough for the protocol and the document."""
    room = Room("fuzz", render=lambda change, seq: "")
    room.load(StoredDocument(), [GateExtension(GateLimits())])
    room.transact(REST, op.add_item, item_id="a", track_id=1, added_by="rest", added_at="t")
    return room


def _real_frames() -> list[bytes]:
    """Frames a well-behaved peer sends: step 1, updates (item, vote, move), awareness."""
    doc = Doc(client_id=777)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    items = doc.get("items", type=Map)
    items["b"] = Map(
        {"track_id": 2.0, "position": 2.0, "added_by": "p", "added_at": "t", "votes": Map()}
    )
    items["b"]["votes"]["777"] = 1.0
    items["b"]["position"] = 0.5
    items["b"]["track"] = {"title": "x", "tags": ["a", {"b": [1, 2]}]}
    frames = [yf.step1(doc.get_state()), yf.step2(doc.get_update())]
    frames += [yf.update(u) for u in updates]
    frames.append(yf.awareness({777: (1, {"user": {"name": "p"}})}))
    return frames


REAL = _real_frames()


def _handle(room: Room, frame: bytes) -> str:
    """Handle one frame as the endpoint does; what happened: ok, 1007 or 4400."""
    session = PeerSession(FakePeer(connection_id=uuid.uuid4().int & 0xFFFF))  # type: ignore[arg-type]
    before = room.doc.get_update()
    try:
        handle_message(room, session, frame)
    except ProtocolError:
        assert room.doc.get_update() == before
        return "1007"
    except Rejected:
        assert room.doc.get_update() == before
        return "4400"
    return "ok"


def _in_loop(fn):
    """Run ``fn`` inside an event loop (the room schedules its relay and resyncs on it)."""

    async def main():
        return fn()

    return asyncio.run(main())


@FUZZ
@given(frame=st.binary(max_size=300))
def test_random_frames_are_handled_or_refused(frame):
    _in_loop(lambda: _handle(_room(), frame))


@FUZZ
@given(data=st.data())
def test_mutated_real_frames_are_handled_or_refused(data):
    frame = bytearray(data.draw(st.sampled_from(REAL)))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(frame) - 1))
        how = data.draw(st.sampled_from(["flip", "insert", "delete", "set"]))
        if how == "flip":
            frame[at] ^= 1 << data.draw(st.integers(0, 7))
        elif how == "insert":
            frame.insert(at, data.draw(st.integers(0, 255)))
        elif how == "delete" and len(frame) > 2:
            del frame[at]
        else:
            frame[at] = data.draw(st.sampled_from([0, 1, 0x27, 0x28, 0x7F, 0x80, 0xFF, 117, 118]))

    def run() -> None:
        room = _room()
        outcome = _handle(room, bytes(frame))
        if outcome == "ok":  # whatever was accepted leaves a readable document
            room.doc.get_update()

    _in_loop(run)


@settings(max_examples=25, deadline=None)
@given(depth=st.integers(9, 40_000), where=st.sampled_from(["track", "x", "added_by"]))
def test_deep_nesting_anywhere_is_refused(depth, where):
    value = b"\x75\x01" * depth + b"\x7e"
    update = (
        b"\x01\x02\x05\x00"  # one client group of two structs, client 5 from clock 0
        + b"\x27\x01\x05items\x01k\x01"  # items["k"] = a new Y.Map
        + b"\x28\x00\x05\x00"  # in it (parent: the ID 5:0) ...
        + bytes([len(where)])
        + where.encode()
        + b"\x01"
        + value  # ... a value nested `depth` deep
        + b"\x00"
    )
    assert _in_loop(lambda: _handle(_room(), yf.update(update))) == "4400"
