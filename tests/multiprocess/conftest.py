"""Several real ``playsync serve`` processes on one database, with a Redis of the test's own.

The Redis here is a ``redis-server`` started on a free port for the test (never the
machine's shared one), so a test can stop and restart it. PostgreSQL is the machine's:
each test gets a database of its own (``tests.conftest.postgres_database``).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, free_port, postgres_database, seed_tracks

REDIS_SERVER = "redis-server"


@dataclass
class RedisServer:
    """A ``redis-server`` of the test's own, nothing on disk; ``stop()`` and ``start()`` again."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ping():
                return self
            time.sleep(0.02)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator:
    """``cluster(n, database_url=…, redis_url=…, **env)``: n servers sharing storage and bus."""
    started: list[ServerProcess] = []

    def start(
        count: int, *, database_url: str | None = None, redis_url: str | None = None, **env: str
    ) -> list[ServerProcess]:
        url = database_url or postgres_database()
        seed_tracks(url)
        args = ("--no-seed", *(("--redis-url", redis_url) if redis_url else ()))
        servers = [
            ServerProcess(db_path=tmp_path / f"server{n}.db", url=url, args=args, env=env)
            for n in range(count)
        ]
        for server in servers:
            started.append(server.start(timeout=60))
        return servers

    yield start
    for server in started:
        server.stop()
