"""A listener's queue: messages in order, heartbeats when quiet, a snapshot after an overflow;
the resume buffer bounded in messages and in bytes."""

from __future__ import annotations

from crdt.diff import PLAYLIST_UPDATED, TRACK_REMOVED, TRACK_VOTED, Change
from crdt.projection import Item
from server.engine.events import EventLog, Listener, Message


def _render(change: Change, seq: int) -> dict:
    return {"type": change.type, "seq": seq, "id": change.item_id}


def _message(seq: int) -> Message:
    return Message(seq, Change(TRACK_REMOVED, item_id=str(seq)), _render)


def _snapshot() -> Message:
    return Message(99, Change(PLAYLIST_UPDATED), _render)


async def test_a_quiet_listener_gets_none_when_a_heartbeat_is_due():
    assert await Listener().next(timeout=0.01) is None


async def test_a_listener_gets_its_messages_in_order():
    listener = Listener(_snapshot, maxsize=5)
    for seq in (1, 2, 3):
        listener.offer(_message(seq))
    assert [(await listener.next(timeout=1)).seq for _ in range(3)] == [1, 2, 3]
    assert listener.bytes == 0


async def test_an_overflowed_listener_gets_one_snapshot_instead_of_its_backlog():
    listener = Listener(_snapshot, maxsize=2)
    for seq in (1, 2, 3):  # the third does not fit
        listener.offer(_message(seq))
    assert listener.behind and listener.overflows == 1
    listener.offer(_message(4))  # nothing more is queued until the snapshot is sent
    assert not listener.queue
    first = await listener.next(timeout=1)
    assert first.type == PLAYLIST_UPDATED and first.seq == 99
    listener.offer(_message(100))
    assert (await listener.next(timeout=1)).seq == 100


async def test_a_listener_overflows_on_bytes_too():
    listener = Listener(_snapshot, maxsize=1000, maxbytes=100)
    listener.offer(_message(1))
    assert not listener.behind
    big = Message(2, Change(TRACK_REMOVED, item_id="x" * 200), _render)
    listener.offer(big)
    assert listener.behind and listener.bytes == 0


def _item(text: str) -> Item:
    return Item("i", 1, 1.0, 0, text, "2026-01-01T00:00:00Z", None, False)


def test_the_resume_buffer_is_bounded_in_bytes():
    log = EventLog(_render, capacity=1000, capacity_bytes=1_000_000)
    for _ in range(50):
        log.publish([Change(TRACK_VOTED, item_id="i", item=_item("y" * 100_000))])
    assert log.buffer_bytes <= 1_000_000
    assert len(log.missed_since(log.seq - 5)) >= 5 and log.missed_since(0) is None


def test_a_non_ascii_string_counts_for_its_escaped_size():
    log = EventLog(_render, capacity=1000, capacity_bytes=1_000_000)
    log.publish([Change(TRACK_VOTED, item_id="i", item=_item("é" * 100_000))])
    assert log.buffer_bytes >= 600_000
