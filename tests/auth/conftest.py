"""One server with ``--auth-secret`` for each test module, and tokens of every kind.

The kinds are what the contract (§8) tells apart: no token, a malformed one, one
signed with another secret, an expired one, one for another playlist (with the
highest role, so only its scope is wrong), and ``read``, ``write``, ``admin``
tokens for the playlist under test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from server.engine.auth import mint

from ..conftest import ServerProcess, seed_tracks

SECRET = "test-secret-" + "x" * 64  # PyJWT warns below 32 bytes (64 for HS512)
OTHER_SECRET = "another-secret-" + "y" * 32

# Expected outcome of a token kind, for an action the kind's role allows or not.
REFUSED_401 = ("none", "malformed", "bad-signature", "expired", "unsigned")
KINDS = (*REFUSED_401, "wrong-playlist", "read", "write", "admin")


def token(playlist: str, role: str, *, subject: str = "tester", ttl: float = 3600) -> str:
    return mint(SECRET, playlist=playlist, role=role, subject=subject, ttl_seconds=ttl)


def token_of(kind: str, playlist: str) -> str | None:
    """A token of ``kind`` for ``playlist`` (None: send none)."""
    if kind == "none":
        return None
    if kind == "malformed":
        return "not-a-token"
    if kind == "bad-signature":
        return mint(OTHER_SECRET, playlist=playlist, role="admin", subject="x", ttl_seconds=60)
    if kind == "expired":
        past = time.time() - 7200
        return mint(SECRET, playlist=playlist, role="admin", subject="x", ttl_seconds=60, now=past)
    if kind == "unsigned":  # alg "none": a classic forgery
        claims = {"sub": "x", "playlist": playlist, "role": "admin", "exp": time.time() + 60}
        return jwt.encode(claims, None, algorithm="none")
    if kind == "wrong-playlist":
        return token("some-other-playlist", "admin")
    return token(playlist, kind)


def bearer(value: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"} if value else {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module alone, with auth on (shadows the open session server)."""
    db = tmp_path_factory.mktemp("auth") / "playsync.db"
    proc = ServerProcess(db_path=db, args=("--no-seed", "--auth-secret", SECRET))
    seed_tracks(proc.database_url)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    """A REST client with an admin token for every playlist."""
    headers = bearer(token("*", "admin", subject="root"))
    with httpx.Client(base_url=server.base_url, timeout=30, headers=headers) as client:
        yield client


@pytest.fixture(scope="module")
def anonymous(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def restart(tmp_path: Path) -> Iterator[Callable[[ServerProcess], ServerProcess]]:
    """Stop a server and start another on its database (what is stored, is what comes back)."""
    started: list[ServerProcess] = []

    def again(proc: ServerProcess) -> ServerProcess:
        proc.stop()
        fresh = ServerProcess(db_path=proc.db_path, args=proc.args)
        started.append(fresh.start())
        return fresh

    yield again
    for proc in started:
        proc.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    server = getattr(item, "funcargs", {}).get("server")
    if report.when == "call" and report.failed and server is not None:
        report.sections.append(("server log (tail)", server.log()[-6000:]))
    return report
