"""A Python Yjs peer: ``pycrdt.Doc`` + ``pycrdt.Provider`` over httpx-ws on ``/yjs/{name}``.

Its writes follow the document schema v1 (CONTRACT §5) directly, not through the
server's own ``crdt`` package, so the tests do not share the server's mistakes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from httpx_ws import aconnect_ws
from pycrdt import Doc, Map, Provider
from pycrdt.websocket.websocket import HttpxWebsocket

WAIT = 10.0


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class YPeer:
    def __init__(self, doc: Doc, provider: Provider) -> None:
        self.doc = doc
        self.provider = provider
        self._changed = asyncio.Event()
        self._sub = doc.observe(lambda _event: self._changed.set())

    # -- reading ---------------------------------------------------------------------

    @property
    def items(self) -> Map:
        return self.doc.get("items", type=Map)

    @property
    def playback(self) -> Map:
        return self.doc.get("playback", type=Map)

    @property
    def key(self) -> str:
        """This peer's own vote key (``String(doc.clientID)`` in Yjs)."""
        return str(self.doc.client_id)

    def item(self, item_id: str) -> dict[str, Any] | None:
        value = self.items.get(item_id)
        return value.to_py() if isinstance(value, Map) else None

    def votes(self, item_id: str) -> int:
        item = self.item(item_id) or {}
        return round(sum((item.get("votes") or {}).values()))

    def now_playing(self) -> str | None:
        return self.playback.get("now_playing")

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = WAIT) -> None:
        """Wait, with a deadline, until ``predicate()`` holds (re-checked on each doc change)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                if predicate():
                    return
                await self._changed.wait()

    # -- writing (schema v1) -----------------------------------------------------------

    def add(self, track_id: int, position: float, *, added_by: str = "py-peer") -> str:
        item_id = str(uuid.uuid4())
        with self.doc.transaction():
            self.items[item_id] = Map(
                {
                    "track_id": float(track_id),
                    "position": float(position),
                    "added_by": added_by,
                    "added_at": now_iso(),
                    "played_at": None,
                    "votes": Map(),
                }
            )
        return item_id

    def vote(self, item_id: str, delta: int = 1) -> None:
        with self.doc.transaction():
            votes = self.items[item_id]["votes"]
            votes[self.key] = float(votes.get(self.key) or 0) + delta

    def move(self, item_id: str, position: float) -> None:
        self.items[item_id]["position"] = float(position)

    def play(self, item_id: str, *, stamp: bool = True) -> None:
        now = now_iso()
        with self.doc.transaction():
            if stamp:
                self.items[item_id]["played_at"] = now
            self.playback["now_playing"] = item_id
            self.playback["started_at"] = now

    def stop(self) -> None:
        with self.doc.transaction():
            self.playback["now_playing"] = None
            self.playback["started_at"] = None

    def remove(self, item_id: str) -> None:
        with self.doc.transaction():
            del self.items[item_id]
            if self.playback.get("now_playing") == item_id:
                self.playback["now_playing"] = None
                self.playback["started_at"] = None


@asynccontextmanager
async def ypeer(ws_url: str, name: str, *, doc: Doc | None = None) -> AsyncIterator[YPeer]:
    """A synced peer on ``/yjs/{name}``; on exit its queued updates are sent first."""
    doc = doc if doc is not None else Doc()
    async with (
        httpx.AsyncClient() as client,
        aconnect_ws(
            f"{ws_url}/yjs/{name}",
            client,
            max_message_size_bytes=4 << 20,
            keepalive_ping_interval_seconds=None,
        ) as ws,
        Provider(doc, HttpxWebsocket(ws, name)) as provider,
    ):
        async with asyncio.timeout(WAIT):
            await provider.synced.wait()
        yield YPeer(doc, provider)
