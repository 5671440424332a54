"""When a peer's update is committed: at once when it waits alone, batched when several do.

Other processes see an update only once it is committed (CONTRACT §7), so a lone update
held back for ``batch_delay`` was that much late everywhere else; batching only pays when
several are waiting.
"""

from __future__ import annotations

import asyncio

from pycrdt import Doc, Map

from server.engine.memory_store import MemoryStore
from server.engine.persistence import Persister

LONG = 30.0  # a batch_delay no test waits out


def _updates(count: int) -> list[bytes]:
    doc = Doc()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    votes = doc.get("votes", type=Map)
    for n in range(count):
        votes[f"k{n}"] = float(n)
    return updates


async def _committed(persister: Persister, rows: int) -> None:
    async with asyncio.timeout(5):
        while persister.log_updates < rows:
            await asyncio.sleep(0.005)


async def test_a_lone_update_right_after_a_commit_is_committed_at_once():
    persister = Persister("p", MemoryStore(), seq=lambda: 0, batch_delay=LONG)
    persister.start()
    first, second = _updates(2)
    persister.add(first)
    await _committed(persister, 1)
    persister.add(second)  # well within batch_delay of the last commit, but alone
    await _committed(persister, 2)
    assert not persister.dirty
    await persister.close()


async def test_updates_waiting_together_after_a_commit_share_one_row():
    persister = Persister("p", MemoryStore(), seq=lambda: 0, batch_delay=0.2)
    persister.start()
    first, *burst = _updates(6)
    persister.add(first)
    await _committed(persister, 1)
    for update in burst:  # all queued before the task looks again
        persister.add(update)
    await asyncio.sleep(0.05)
    assert persister.log_updates == 1 and persister.dirty  # batching, within batch_delay
    await _committed(persister, 2)
    assert persister.log_updates == 2 and not persister.dirty
    await persister.close()
