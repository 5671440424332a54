"""Helpers for the realtime tests: the legacy event stream (WebSocket, SSE) and async REST.

Every wait has a deadline (``asyncio.timeout``); nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import ServerProcess, seed_tracks

WAIT = 10.0  # seconds: the deadline of any single wait
CONNECTED = {"type": "connection.established", "message": "Connected to playlist updates"}


# -- REST ------------------------------------------------------------------------------


class Rest:
    """One playlist's REST API, async (the tests' event loop keeps reading sockets meanwhile)."""

    def __init__(self, client: httpx.AsyncClient, name: str | None) -> None:
        self.client = client
        self.base = "/api/playlist" if name is None else f"/api/playlists/{name}"

    def url(self, *parts: str) -> str:
        return "/".join([self.base, *parts]) + "/"

    async def _ok(self, method: str, url: str, status: int = 200, **kwargs: Any) -> Any:
        response = await self.client.request(method, url, **kwargs)
        assert response.status_code == status, (method, url, response.status_code, response.text)
        return response.json() if response.content else None

    async def list(self) -> list[dict]:
        return await self._ok("GET", self.url())

    async def add(self, track_id: int, **fields: Any) -> dict:
        return await self._ok("POST", self.url(), 201, json={"track_id": track_id, **fields})

    async def get(self, item_id: str) -> dict:
        return await self._ok("GET", self.url(item_id))

    async def patch(self, item_id: str, **fields: Any) -> dict:
        return await self._ok("PATCH", self.url(item_id), json=fields)

    async def vote(self, item_id: str, direction: str = "up") -> dict:
        return await self._ok("POST", self.url(item_id, "vote"), json={"direction": direction})

    async def play(self, item_id: str) -> dict:
        return await self._ok("POST", self.url(item_id, "play"))

    async def stop(self) -> dict:
        return await self._ok("POST", self.url("stop"))

    async def delete(self, item_id: str) -> None:
        await self._ok("DELETE", self.url(item_id), 204)


async def wait_rest(rest: Rest, predicate, timeout: float = WAIT) -> list[dict]:
    """Poll the REST list (with a deadline) until ``predicate(items)`` holds."""
    async with asyncio.timeout(timeout):
        while True:
            items = await rest.list()
            if predicate(items):
                return items
            await asyncio.sleep(0.02)


def by_id(items: list[dict]) -> dict[str, dict]:
    return {item["id"]: item for item in items}


@pytest.fixture
async def aclient(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def rest(aclient: httpx.AsyncClient, playlist: str) -> Rest:
    """The test's own playlist on the session server."""
    return Rest(aclient, playlist)


# -- the event stream over WebSocket ------------------------------------------------------


class EventSocket:
    """A legacy event-stream client: JSON text messages, heartbeats skipped by default."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.heartbeats: list[dict] = []
        self.initial: dict | None = None  # the playlist.updated after connecting without since

    async def recv_json(self, timeout: float = WAIT) -> dict:
        async with asyncio.timeout(timeout):
            raw = await self.ws.recv()
        assert isinstance(raw, str), f"the event stream sent a binary frame: {raw!r}"
        message = json.loads(raw)
        assert isinstance(message, dict), message
        return message

    async def next(self, timeout: float = WAIT) -> dict:
        """The next message that is not a heartbeat."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.recv_json(timeout)
                if message.get("type") == "ping" and set(message) == {"type", "ts"}:
                    self.heartbeats.append(message)
                    continue
                return message

    async def take(self, count: int, timeout: float = WAIT) -> list[dict]:
        async with asyncio.timeout(timeout):
            return [await self.next(timeout) for _ in range(count)]

    async def until(self, predicate, timeout: float = WAIT) -> list[dict]:
        """Messages up to and including the first one matching ``predicate``."""
        seen = []
        async with asyncio.timeout(timeout):
            while True:
                message = await self.next(timeout)
                seen.append(message)
                if predicate(message):
                    return seen

    async def send_json(self, message: Any) -> None:
        await self.ws.send(json.dumps(message))


@asynccontextmanager
async def event_socket(
    ws_url: str, name: str | None, *, since: int | None = None, greeted: bool = True
) -> AsyncIterator[EventSocket]:
    """Connect to ``/ws/playlists/{name}/`` (``name=None``: ``/ws/playlist/``).

    With ``greeted`` the ``connection.established`` message is read and checked, and
    without ``since`` also the ``playlist.updated`` snapshot that follows it (kept as
    ``initial``).
    """
    path = "/ws/playlist/" if name is None else f"/ws/playlists/{name}/"
    if since is not None:
        path += f"?since={since}"
    async with asyncio.timeout(WAIT):
        ws = await websockets.connect(ws_url + path, max_size=None, open_timeout=WAIT)
    try:
        client = EventSocket(ws)
        if greeted:
            assert await client.next() == CONNECTED
            if since is None:
                client.initial = await client.next()
                assert client.initial["type"] == "playlist.updated", client.initial
                assert set(client.initial) == {"type", "payload", "seq"}, client.initial
        yield client
    finally:
        await ws.close()


# -- the event stream over Server-Sent Events ---------------------------------------------


class SseStream:
    """Parsed Server-Sent Events: each event a dict of its fields (``event``, ``id``, ``data``)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next_raw(self, timeout: float = WAIT) -> dict[str, str]:
        fields: dict[str, str] = {}
        async with asyncio.timeout(timeout):
            async for line in self._lines:
                if line == "":
                    if fields:
                        return fields
                    continue
                if line.startswith(":"):
                    continue
                key, _, value = line.partition(":")
                value = value.removeprefix(" ")
                assert key not in fields, f"field {key} twice in one SSE event"
                fields[key] = value
        raise AssertionError("the SSE stream ended")

    async def next(self, timeout: float = WAIT) -> dict[str, str]:
        """The next event that is not a heartbeat."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.next_raw(timeout)
                if event.get("event") != "ping":
                    return event


@asynccontextmanager
async def sse_stream(
    base_url: str,
    name: str | None,
    *,
    since: int | None = None,
    last_event_id: int | None = None,
) -> AsyncIterator[SseStream]:
    path = "/api/stream" if name is None else f"/api/playlists/{name}/stream"
    params = {} if since is None else {"since": str(since)}
    headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
    timeout = httpx.Timeout(WAIT, read=WAIT)
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=timeout) as client,
        client.stream("GET", path, params=params, headers=headers) as response,
    ):
        assert response.status_code == 200, response.status_code
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseStream(response)


# -- servers and their logs -----------------------------------------------------------------


class LogWindow:
    """What a server logged after a point in time (the session server is shared)."""

    def __init__(self, proc: ServerProcess) -> None:
        self.proc = proc
        self.start = len(proc.log().encode()) if proc.log_path else 0

    def text(self) -> str:
        assert self.proc.log_path is not None
        return self.proc.log_path.read_bytes()[self.start :].decode(errors="replace")

    def assert_clean(self) -> None:
        text = self.text()
        assert "Traceback" not in text, text[-4000:]
        assert " ERROR " not in text, text[-4000:]


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module only, with a 0.3 s heartbeat (tests may use its default playlist)."""
    db: Path = tmp_path_factory.mktemp("fast") / "playsync.db"
    proc = ServerProcess(db_path=db, env={"PLAYSYNC_HEARTBEAT_SECONDS": "0.3"})
    seed_tracks(proc.database_url)
    proc.start()
    yield proc
    proc.stop()


def unique_name(prefix: str = "rt") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
