"""The gate's cost: CPU per peer update with the gate (CONTRACT §9) and without, one run.

In-process, two rooms loaded from the same stored playlist (200 items, then ``history``
votes and moves, compacted into one snapshot), one with the gate and one without. A peer
synced with that playlist makes ``updates`` updates (votes on its own key and moves, 2:1),
each sent as a y-websocket frame through ``sync.handle_message``, the way the /yjs/
endpoint hands them over: strict decode, judge, apply, index what integrated, relay,
re-project, diff, render the events, repair check. Blocks alternate between the rooms.

Reported: CPU microseconds per update in each room, the gate's share of a change's CPU
((with - without) / with; the target is at most 15%), the decoder alone, the load of the
stored playlist, and the first peer update after it (which indexes the document's state
for the gate: indexing waits until a peer writes).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import UTC, datetime
from uuid import uuid4

from pycrdt import Doc, Map

from api.serializers import event_json
from crdt import operations as ops
from crdt.schema import utc_now_iso
from server.engine.gate import GateLimits
from server.engine.library import Library
from server.engine.room import Room
from server.engine.rooms import RoomSettings, standard_extensions
from server.engine.storage import StoredDocument, TrackRow
from server.engine.sync import PeerSession, handle_message
from server.engine.updates import decode_update
from tests.realtime import yframes as yf

from .common import log, synthetic_tracks
from .storage_bench import NullStore

ITEMS = 200
BLOCKS = 20


class _Peer:
    connection_id = 1

    def send(self, message: bytes) -> None:
        pass


def _library() -> Library:
    now = datetime.now(UTC)
    return Library(TrackRow(**t, created_at=now) for t in synthetic_tracks(ITEMS))


def _loaded_room(library: Library, snapshot: bytes, gate: GateLimits | None) -> Room:
    """A room as the server loads one: its standard extensions (the gate first, or none)."""
    room = Room("bench-gate", render=lambda change, seq: event_json(change, seq, library))
    extensions = standard_extensions(NullStore(), RoomSettings(gate=gate))
    room.load(StoredDocument(snapshot=snapshot), extensions)
    return room


def _stored_playlist(library: Library, history: int) -> bytes:
    """200 items by REST, then ``history`` server votes and moves: the stored snapshot."""
    doc = Doc()
    ids = []
    for track in library.all():
        item_id = str(uuid4())
        ops.add_item(doc, item_id=item_id, track_id=track.id, added_by="b", added_at=utc_now_iso())
        ids.append(item_id)
    rng = random.Random(3)
    for n in range(history):
        if n % 3 == 2:
            ops.move_item(doc, rng.choice(ids), rng.uniform(0, ITEMS))
        else:
            ops.vote(doc, rng.choice(ids), f"server:{n % 50}", 1)
    return doc.get_update()


def _peer_frames(snapshot: bytes, count: int) -> list[bytes]:
    """What a Yjs peer sends: one update per vote (its own key) or move."""
    doc = Doc()
    doc.apply_update(snapshot)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    items = doc.get("items", type=Map)
    ids = list(items.keys())
    key = str(doc.client_id)
    rng = random.Random(5)
    for n in range(count):
        item = items[rng.choice(ids)]
        if n % 3 == 2:
            item["position"] = rng.uniform(0, ITEMS)
        else:
            votes = item["votes"]
            votes[key] = float(votes.get(key) or 0) + 1
    return [yf.update(u) for u in updates]


def _timed(fn) -> float:
    """CPU seconds of this process (the machine is shared: wall time counts the others)."""
    started = time.process_time()
    fn()
    return time.process_time() - started


def _load_seconds(library: Library, snapshot: bytes, gate: GateLimits | None) -> float:
    rooms: list[Room] = []
    seconds = _timed(lambda: rooms.append(_loaded_room(library, snapshot, gate)))
    room = rooms[0]
    assert room.persister is not None
    room.persister._task.cancel()  # a null store: nothing to flush
    return seconds


async def run_gate(*, updates: int, history: int, repeat: int = 5) -> dict:
    library = _library()
    snapshot = _stored_playlist(library, history)
    frames = _peer_frames(snapshot, updates)
    log(f"gate: {len(frames)} peer updates on {ITEMS} items ({history} edits of history)")
    rooms = {
        "gate": _loaded_room(library, snapshot, GateLimits()),
        "none": _loaded_room(library, snapshot, None),
    }
    sessions = {name: PeerSession(_Peer()) for name in rooms}  # type: ignore[arg-type]
    # The first peer update of a loaded room pays for indexing the document's state.
    first = {
        name: _timed(lambda r=room, s=sessions[name]: handle_message(r, s, frames[0]))
        for name, room in rooms.items()
    }
    frames = frames[1:]
    spent = {name: 0.0 for name in rooms}
    block = max(1, len(frames) // BLOCKS)
    for start in range(0, len(frames), block):
        chunk = frames[start : start + block]
        order = ("gate", "none") if (start // block) % 2 == 0 else ("none", "gate")
        for name in order:
            room, session = rooms[name], sessions[name]
            spent[name] += _timed(
                lambda r=room, s=session, c=chunk: [handle_message(r, s, f) for f in c]
            )
    assert rooms["gate"].doc.get_state() == rooms["none"].doc.get_state()
    assert rooms["gate"].playlist == rooms["none"].playlist
    payloads = [yf.parse(f).payload for f in frames]
    decode_seconds = _timed(lambda: [decode_update(p) for p in payloads])
    with_gate = [_load_seconds(library, snapshot, GateLimits()) for _ in range(repeat)]
    without = [_load_seconds(library, snapshot, None) for _ in range(repeat)]
    for room in rooms.values():
        assert room.persister is not None
        room.persister._task.cancel()
    n = len(frames)
    gate_us, none_us = spent["gate"] / n * 1e6, spent["none"] / n * 1e6
    load_gate, load_none = statistics.median(with_gate), statistics.median(without)
    return {
        "items": ITEMS,
        "history_edits": history,
        "snapshot_bytes": len(snapshot),
        "updates": n,
        "with_gate_us": gate_us,
        "without_gate_us": none_us,
        "gate_share": (gate_us - none_us) / gate_us,
        "decode_us": decode_seconds / n * 1e6,
        "first_update_with_gate_ms": first["gate"] * 1000,
        "first_update_without_gate_ms": first["none"] * 1000,
        "load_with_gate_ms": load_gate * 1000,
        "load_without_gate_ms": load_none * 1000,
        "load_ratio": load_gate / load_none,
    }


def gate_section(workdir, *, updates: int, history: int) -> dict:
    return asyncio.run(run_gate(updates=updates, history=history))
