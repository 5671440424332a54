"""``/ready`` (CONTRACT §10): 200 while the database (and Redis, when set) answer; else 503, why."""

from __future__ import annotations

import asyncio
import subprocess

import httpx

from tests.conftest import POSTGRES, ServerProcess, free_port, postgres_database


def test_ready_answers_200_when_the_database_answers(server: ServerProcess):
    response = httpx.get(f"{server.base_url}/ready", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_ready_answers_503_with_the_reason_once_the_database_is_gone(tmp_path):
    url = postgres_database()
    server = ServerProcess(
        db_path=tmp_path / "unused.db", args=("--no-seed", "--database-url", url)
    )
    try:
        await asyncio.to_thread(server.start, 60)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            assert (await client.get("/ready")).status_code == 200
            name = url.rsplit("/", 1)[1]
            await asyncio.to_thread(
                subprocess.run,
                ["psql", POSTGRES, "-qc", f'DROP DATABASE "{name}" WITH (FORCE)'],
                check=True,
                capture_output=True,
            )
            response = await client.get("/ready")
    finally:
        await asyncio.to_thread(server.stop)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "NOT_READY"
    assert set(error["details"]) == {"database"}
    assert error["message"].startswith("database: ")


def test_ready_answers_503_naming_redis_when_the_configured_redis_does_not_answer(make_server):
    server = make_server("--no-seed", PLAYSYNC_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    response = httpx.get(f"{server.base_url}/ready", timeout=10)
    assert response.status_code == 503
    assert set(response.json()["error"]["details"]) == {"redis"}


def test_ready_checks_a_configured_redis_that_answers(make_server):
    """Needs the machine's Redis (``.ci/run`` starts it): a failure, never a skip, without it."""
    server = make_server("--no-seed", PLAYSYNC_REDIS_URL="redis://127.0.0.1:6379/0")
    response = httpx.get(f"{server.base_url}/ready", timeout=10)
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}
