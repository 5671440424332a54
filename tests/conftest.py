"""Shared fixtures: a real playsync server (hypercorn, free port, SQLite file in a temp dir).

``PLAYSYNC_TEST_DATABASE=postgresql`` runs the same servers on PostgreSQL instead: each
gets a fresh database of its own (``PLAYSYNC_TEST_POSTGRES`` names the server), dropped
at the end of the session.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("PLAYSYNC_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
ON_POSTGRES = os.environ.get("PLAYSYNC_TEST_DATABASE") == "postgresql"
_postgres_databases: list[str] = []


def postgres_database() -> str:
    """A fresh PostgreSQL database (SQLAlchemy async URL); dropped at the session's end.

    Fails rather than skips where PostgreSQL does not answer: CI starts it (``.ci/run``).
    """
    name = f"playsync_test_{uuid.uuid4().hex[:12]}"
    subprocess.run(
        ["psql", POSTGRES, "-qc", f'CREATE DATABASE "{name}"'], check=True, capture_output=True
    )
    _postgres_databases.append(name)
    base = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_databases() -> Iterator[None]:
    yield
    for name in _postgres_databases:
        subprocess.run(
            ["psql", POSTGRES, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
            capture_output=True,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """``playsync serve`` in a subprocess; ``kill()`` is a real ``kill -9``."""

    db_path: Path
    port: int = field(default_factory=free_port)
    args: tuple[str, ...] = ("--no-seed",)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    url: str | None = None
    """A database URL instead of the SQLite file (several servers share one)."""

    def __post_init__(self) -> None:
        if self.url is None and ON_POSTGRES:
            self.url = postgres_database()

    @property
    def database_url(self) -> str:
        return self.url or f"sqlite+aiosqlite:///{self.db_path}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> ServerProcess:
        self.log_path = self.db_path.with_suffix(f".{self.port}.log")
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--port",
                str(self.port),
                "--database-url",
                self.database_url,
                *self.args,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush — what a crash looks like."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def seed_tracks(database_url: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "seed",
            "--tracks-only",
            "--database-url",
            database_url,
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the session, its library seeded, no demo playlist.

    Tests stay independent by each using a playlist of its own (``playlist`` fixture).
    """
    db = tmp_path_factory.mktemp("server") / "playsync.db"
    proc = ServerProcess(db_path=db)
    seed_tracks(proc.database_url)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator:
    """Start extra servers (own database unless given one); all stopped at the end."""
    started: list[ServerProcess] = []
    urls: dict[Path, str | None] = {}  # on PostgreSQL, the database behind each db_path

    def make(*args: str, db_path: Path | None = None, seed: bool = True, **env: str):
        path = db_path or tmp_path / f"{uuid.uuid4().hex}.db"
        proc = ServerProcess(db_path=path, args=args, env=env, url=urls.get(path))
        urls.setdefault(path, proc.url)
        if seed:
            seed_tracks(proc.database_url)
        started.append(proc.start())
        return proc

    yield make
    for proc in started:
        proc.stop()


@pytest.fixture
def playlist() -> str:
    """A fresh playlist name: playlists are created on first write."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client
