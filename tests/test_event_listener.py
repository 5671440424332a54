"""A listener's queue: messages in order, heartbeats when quiet, and the end of an overflow."""

from __future__ import annotations

import pytest

from crdt.diff import TRACK_REMOVED, Change
from server.engine.events import Listener, Message, Overflowed


def _message(seq: int) -> Message:
    return Message(seq, Change(TRACK_REMOVED, item_id=str(seq)), lambda change, s: {"seq": s})


async def test_a_quiet_listener_gets_none_when_a_heartbeat_is_due():
    assert await Listener().next(timeout=0.01) is None


async def test_an_overflowed_listener_gets_what_was_queued_then_overflowed():
    listener = Listener(maxsize=2)
    for seq in (1, 2, 3):  # the third does not fit
        listener.offer(_message(seq))
    assert listener.overflowed.is_set()
    assert [(await listener.next(timeout=1)).seq for _ in range(2)] == [1, 2]
    with pytest.raises(Overflowed):
        await listener.next(timeout=1)
    listener.offer(_message(4))  # nothing more is queued once overflowed
    assert listener.queue.empty()
