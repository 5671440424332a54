"""``/ready`` (CONTRACT §10): 200 while the database (and Redis, when set) answer; else 503, why."""

from __future__ import annotations

import asyncio
import importlib.util
import socket

import httpx
import pytest

from server.settings import Settings
from tests.conftest import ServerProcess, free_port

from .conftest import POSTGRES


def test_ready_answers_200_when_the_database_answers(server: ServerProcess):
    response = httpx.get(f"{server.base_url}/ready", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_ready_answers_503_with_the_reason_once_the_database_is_gone(tmp_path):
    asyncpg = pytest.importorskip("asyncpg")
    name = f"playsync_ops_ready_{free_port()}"
    try:
        admin = await asyncpg.connect(POSTGRES, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL at {POSTGRES}: {exc}")
    url = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    server = ServerProcess(
        db_path=tmp_path / "unused.db", args=("--no-seed", "--database-url", f"{url}/{name}")
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        await asyncio.to_thread(server.start, 60)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            assert (await client.get("/ready")).status_code == 200
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            response = await client.get("/ready")
    finally:
        await asyncio.to_thread(server.stop)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "NOT_READY"
    assert set(error["details"]) == {"database"}
    assert error["message"].startswith("database: ")


needs_redis_setting = pytest.mark.skipif(
    not hasattr(Settings(), "redis_url"), reason="no redis_url setting on this branch yet"
)
needs_redis_client = pytest.mark.skipif(
    importlib.util.find_spec("redis") is None, reason="the redis package is not installed"
)


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@needs_redis_setting
def test_ready_answers_503_naming_redis_when_the_configured_redis_does_not_answer(make_server):
    server = make_server("--no-seed", PLAYSYNC_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    response = httpx.get(f"{server.base_url}/ready", timeout=10)
    assert response.status_code == 503
    assert set(response.json()["error"]["details"]) == {"redis"}


@needs_redis_setting
@needs_redis_client
@pytest.mark.skipif(not redis_answers(), reason="no Redis at 127.0.0.1:6379")
def test_ready_checks_a_configured_redis_that_answers(make_server):
    server = make_server("--no-seed", PLAYSYNC_REDIS_URL="redis://127.0.0.1:6379/0")
    response = httpx.get(f"{server.base_url}/ready", timeout=10)
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}
