"""Small helpers for the example notebooks and scripts.

- :class:`LocalServer` starts a throwaway ``playsync serve`` (free port, temp database).
- :class:`Replica` is a Python Yjs peer: a pycrdt ``Doc`` that edits with the same
  ``crdt.operations`` the server uses, and connects / disconnects at will (offline editing).
- :func:`markdown_table` renders playlists side by side for a notebook.
- :func:`rest_client` is an ``httpx.Client`` on the REST API, with a token if the server
  wants one (``LocalServer(auth_secret=…)``, ``server.token(…)``; CONTRACT §8).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
from httpx_ws import aconnect_ws
from pycrdt import Doc, Provider
from pycrdt.websocket.websocket import HttpxWebsocket

from crdt import operations as ops
from crdt.projection import Playlist, project

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class LocalServer:
    """``playsync serve`` in a subprocess, on a free port, with a fresh SQLite file."""

    def __init__(self, *, seed_demo: bool = False, auth_secret: str | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="playsync-example-"))
        self.port = _free_port()
        self.database_url = f"sqlite+aiosqlite:///{self.dir / 'playsync.db'}"
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self._seed_demo = seed_demo
        self.auth_secret = auth_secret  # set: every request needs a token (see token())
        self.process: subprocess.Popen | None = None

    def start(self) -> LocalServer:
        cli = [sys.executable, "-m", "server.cli"]
        seed = [*cli, "seed", "--database-url", self.database_url]
        if not self._seed_demo:
            seed.append("--tracks-only")
        subprocess.run(seed, cwd=ROOT, check=True, capture_output=True)
        log = (self.dir / "server.log").open("ab")
        serve = [*cli, "serve", "--port", str(self.port), "--database-url", self.database_url]
        if self.auth_secret:
            serve += ["--auth-secret", self.auth_secret]
        self.process = subprocess.Popen(
            [*serve, "--no-seed"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the server did not start; see " + str(self.dir / "server.log"))

    def token(self, playlist: str, role: str = "write", subject: str = "notebook") -> str:
        """A token for this server (``playsync token``): ``role`` on ``playlist`` or ``*``."""
        if not self.auth_secret:
            raise RuntimeError("this server runs without auth: no token needed")
        done = subprocess.run(
            [sys.executable, "-m", "server.cli", "token", "--playlist", playlist, "--role", role,
             "--subject", subject, "--auth-secret", self.auth_secret],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return done.stdout.strip()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Replica:
    """A Python Yjs peer of one playlist; offline until :meth:`connect`.

    ``token``: sent as ``?token=`` (the server reads it at the handshake); with a ``read``
    token the replica syncs, but the server ignores its edits.
    """

    def __init__(
        self,
        label: str,
        ws_url: str,
        playlist: str,
        doc: Doc | None = None,
        *,
        token: str | None = None,
    ) -> None:
        self.label = label
        self.url = f"{ws_url}/yjs/{playlist}" + (f"?token={quote(token)}" if token else "")
        self.playlist_name = playlist
        self.doc = doc or Doc()
        self.vote_key = str(self.doc.client_id)  # a PN-counter key of our own
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def online(self) -> bool:
        return self._task is not None

    async def connect(self, timeout: float = 10) -> None:
        """Go online and wait until synced with the server."""
        synced, self._stop = asyncio.Event(), asyncio.Event()
        # The connection lives in a task of its own: anyio scopes must be left from the
        # task that entered them, and a notebook runs each cell in a different task.
        self._task = asyncio.create_task(self._run(synced, self._stop))
        async with asyncio.timeout(timeout):
            done, _ = await asyncio.wait(
                {self._task, asyncio.ensure_future(synced.wait())},
                return_when=asyncio.FIRST_COMPLETED,
            )
        if self._task in done:
            self._task.result()  # raises what went wrong

    async def _run(self, synced: asyncio.Event, stop: asyncio.Event) -> None:
        async with aconnect_ws(self.url) as websocket:
            provider = Provider(self.doc, HttpxWebsocket(websocket, self.playlist_name))
            async with provider:
                await provider.synced.wait()
                synced.set()
                await stop.wait()

    async def disconnect(self) -> None:
        """Go offline (edits keep working on the local document)."""
        if self._task is not None:
            task, self._task = self._task, None
            self._stop.set()
            await task

    # -- edits: the same operations the server applies ------------------------

    def add(self, track_id: int, *, position: float | None = None) -> str:
        item_id = f"{self.label}-{uuid.uuid4().hex[:8]}"
        ops.add_item(
            self.doc,
            item_id=item_id,
            track_id=track_id,
            added_by=self.label,
            added_at=now_iso(),
            position=position,
        )
        return item_id

    def vote(self, item_id: str, delta: int) -> None:
        ops.vote(self.doc, item_id, self.vote_key, delta)

    def move(self, item_id: str, position: float) -> None:
        ops.move_item(self.doc, item_id, position)

    def play(self, item_id: str) -> None:
        ops.play(self.doc, item_id, now_iso())

    def remove(self, item_id: str) -> None:
        ops.remove_item(self.doc, item_id)

    # -- reading ----------------------------------------------------------------

    def playlist(self) -> Playlist:
        return project(self.doc)

    def item_id_of(self, track_id: int) -> str:
        for item in self.playlist().items:
            if item.track_id == track_id:
                return item.id
        raise KeyError(track_id)

    def save(self, path: Path) -> None:
        path.write_bytes(self.doc.get_update())

    @classmethod
    def load(
        cls, label: str, ws_url: str, playlist: str, path: Path, *, token: str | None = None
    ) -> Replica:
        doc = Doc()
        doc.apply_update(path.read_bytes())
        return cls(label, ws_url, playlist, doc, token=token)


def rest_client(base_url: str, token: str | None = None, **kwargs) -> httpx.Client:
    """An ``httpx.Client`` on the REST API; ``token`` goes as ``Authorization: Bearer``."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=30, **kwargs)


async def wait_until(predicate, timeout: float = 10, interval: float = 0.05):
    """Poll ``predicate()`` until it is truthy; return its value."""
    async with asyncio.timeout(timeout):
        while True:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(interval)


def converged(*replicas: Replica) -> bool:
    first, *others = (r.playlist() for r in replicas)
    return all(other == first for other in others)


def markdown_table(playlists: dict[str, Playlist], titles: dict[int, str]) -> str:
    """Playlists side by side: one row per position, one column per replica."""
    labels = list(playlists)
    depth = max((len(p.items) for p in playlists.values()), default=0)
    lines = [
        "| # | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for row in range(depth):
        cells = []
        for label in labels:
            items = playlists[label].items
            if row < len(items):
                item = items[row]
                mark = " ▶" if item.is_playing else ""
                cells.append(f"{titles.get(item.track_id, item.track_id)} ({item.votes:+d}){mark}")
            else:
                cells.append("")
        lines.append(f"| {row + 1} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
