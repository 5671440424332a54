"""The original React frontend of the Django backend, as far as the server can tell.

It is emulated from what running it against this server showed (FIELD-NOTES):

- it reads ``results`` from every list (the server runs with ``--paginate``) and fetches
  the playlist once, on start;
- it handles the five ``track.*`` events (payload: the item, or ``{id}`` / ``{id,
  is_playing: false}``) and ``playlist.updated``, on which it refetches; any other type is
  ignored;
- it reconnects only after close code 1000 or an unclean close, never sends ``since``,
  and (its own bug) drops and reopens its socket after every play and stop;
- it adds at its own last position + 1 and moves to the midpoint of its own neighbours.

Its view is what it would show; the tests compare it with ``GET /api/playlist/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import websockets

KNOWN = {
    "track.added",
    "track.removed",
    "track.moved",
    "track.voted",
    "track.playing",
    "playlist.updated",
}
RECONNECT_AFTER = {1000, 1006}  # 1006: no close frame (an unclean close)
WAIT = 15.0


class OriginalFrontend:
    def __init__(self, base_url: str, ws_url: str, name: str, *, small_buffer: bool = False):
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.api = f"/api/playlists/{name}/"
        self.ws_path = f"{ws_url}/ws/playlists/{name}/"
        self.items: dict[str, dict[str, Any]] = {}
        self.seen: Counter[str] = Counter()  # event types received, known or not
        self.closes: list[int] = []  # close codes seen
        self.connections = 0
        self.sent_positions: list[float] = []  # the positions it asked for when adding
        self.gave_up = False  # closed with a code it does not reconnect after
        self.reading = asyncio.Event()
        self.reading.set()
        self._small_buffer = small_buffer  # a reader whose socket holds little (a slow one)
        self._ws: websockets.ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._changed = asyncio.Event()

    # -- what it shows -------------------------------------------------------------------

    def view(self) -> list[dict[str, Any]]:
        """Its playlist, in position order (ties by id), as it renders it."""
        return sorted(self.items.values(), key=lambda item: (item["position"], item["id"]))

    async def fetch(self) -> None:
        response = await self.http.get(self.api)
        response.raise_for_status()
        self.items = {item["id"]: item for item in response.json()["results"]}
        self._changed.set()

    async def rest_list(self) -> list[dict[str, Any]]:
        response = await self.http.get(self.api)
        response.raise_for_status()
        return response.json()["results"]

    async def settled(self, timeout: float = WAIT) -> list[dict[str, Any]]:
        """Wait until its view equals the server's list; return that list."""
        async with asyncio.timeout(timeout):
            while True:
                self._changed.clear()
                rest = await self.rest_list()
                if self.view() == rest:
                    return rest
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.2):  # REST may move on without an event yet
                        await self._changed.wait()

    # -- what it does ----------------------------------------------------------------------

    async def add(self, track_id: int) -> dict[str, Any]:
        view = self.view()
        position = view[-1]["position"] + 1 if view else 1.0
        self.sent_positions.append(position)
        response = await self.http.post(self.api, json={"track": track_id, "position": position})
        assert response.status_code == 201, response.text
        return response.json()

    async def move(self, item_id: str, between: tuple[str, str]) -> dict[str, Any]:
        """Drag an item between two neighbours of its own view."""
        positions = {item["id"]: item["position"] for item in self.view()}
        position = (positions[between[0]] + positions[between[1]]) / 2
        response = await self.http.patch(f"{self.api}{item_id}/", json={"position": position})
        assert response.status_code == 200, response.text
        return response.json()

    async def vote(self, item_id: str, direction: str = "up") -> None:
        response = await self.http.post(f"{self.api}{item_id}/vote/", json={"direction": direction})
        assert response.status_code == 200, response.text

    async def play(self, item_id: str) -> None:
        response = await self.http.post(f"{self.api}{item_id}/play/")
        assert response.status_code == 200, response.text
        await self._reopen()  # its own bug

    async def stop(self) -> None:
        response = await self.http.post(f"{self.api}stop/")
        assert response.status_code == 200, response.text
        await self._reopen()

    # -- its socket ----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.fetch()
        self._task = asyncio.create_task(self._run())
        async with asyncio.timeout(WAIT):
            await self._connected.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.http.aclose()

    async def wait_connected(self, count: int, timeout: float = 30.0) -> None:
        """Wait until it has opened its socket ``count`` times in all."""
        async with asyncio.timeout(timeout):
            while self.connections < count:
                self._connected.clear()
                await self._connected.wait()

    async def _reopen(self) -> None:
        count = self.connections
        if self._ws is not None:
            await self._ws.close()  # code 1000 from the client: the loop reconnects
        await self.wait_connected(count + 1)

    def _socket(self) -> socket.socket | None:
        if not self._small_buffer:
            return None
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        return sock

    async def _run(self) -> None:
        while True:
            try:
                async with self._connect() as ws:
                    self._ws = ws
                    self.connections += 1
                    self._connected.set()
                    while True:
                        await self.reading.wait()
                        self._handle(json.loads(await ws.recv()))
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else 1006
                if closed.sent is not None and closed.rcvd_then_sent is False:
                    code = closed.sent.code  # it closed the socket itself (play, stop)
                self.closes.append(code)
                if code not in RECONNECT_AFTER:
                    self.gave_up = True
                    return
            except OSError:
                pass  # the server is not (yet) there: try again, as a browser retries
            await asyncio.sleep(0.1)

    @contextlib.asynccontextmanager
    async def _connect(self) -> AsyncIterator[websockets.ClientConnection]:
        sock = self._socket()
        if sock is not None:
            host, port = self.ws_path.split("//", 1)[1].split("/", 1)[0].split(":")
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
        kwargs: dict[str, Any] = {"sock": sock} if sock is not None else {}
        async with websockets.connect(
            self.ws_path,
            max_size=None,
            max_queue=1 if sock is not None else 16,
            ping_interval=None,
            compression=None,
            open_timeout=WAIT,
            **kwargs,
        ) as ws:
            yield ws

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        self.seen[str(kind)] += 1
        if kind not in KNOWN:
            return
        payload = message["payload"]
        if kind == "playlist.updated":
            asyncio.get_running_loop().create_task(self.fetch())
            return
        if kind == "track.removed":
            self.items.pop(payload["id"], None)
        elif (
            kind == "track.playing"
            and payload.get("is_playing") is False
            and "track" not in payload
        ):
            if payload["id"] in self.items:
                self.items[payload["id"]] = {**self.items[payload["id"]], "is_playing": False}
        elif kind == "track.playing":
            for item_id, item in self.items.items():
                if item["is_playing"]:
                    self.items[item_id] = {**item, "is_playing": False}
            self.items[payload["id"]] = payload
        else:
            self.items[payload["id"]] = payload
        self._changed.set()
