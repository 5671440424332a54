"""A request for a room whose close has just finished, before its unloader looked again.

Awaiting a finished task does not yield to the event loop, so ``RoomManager.get`` spun on
the finished close for good: the whole process hung (seen as a flaky storage test, about
one run in fifteen). Here the request is made in exactly that window, every time.
"""

from __future__ import annotations

import asyncio

import pytest

from server.engine.rooms import RoomManager

from .test_dormant_rooms import add


@pytest.mark.timeout(10)  # the hang was a busy loop: only pytest-timeout's signal ends it
async def test_a_request_in_the_window_after_a_close_finishes_loads_the_room_again(
    rooms: RoomManager,
):
    room = await rooms.get("p")
    add(room, "a", 1)
    await room.persisted()
    getter: asyncio.Task | None = None

    async def then() -> None:  # runs in the close task, as its last step
        nonlocal getter
        getter = asyncio.create_task(rooms.get("p"))  # first runs once the close is done

    assert await rooms.unload("p", then=then)
    assert getter is not None
    again = await getter
    assert again is not room
    assert again.playlist.get("a") is not None
