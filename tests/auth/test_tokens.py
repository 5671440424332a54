"""Tokens and grants (``server/engine/auth.py``) and ``playsync token``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest

from server.engine.auth import (
    ANY_PLAYLIST,
    AllowAll,
    Grant,
    Role,
    TokenAuthorizer,
    Unauthenticated,
    mint,
    parse_ttl,
)

from ..conftest import ROOT
from .conftest import SECRET, token

AUTH = TokenAuthorizer(SECRET)


def test_a_minted_token_grants_its_role_on_its_playlist_to_its_subject() -> None:
    grant = AUTH.grant(token("jazz", "write", subject="ann", ttl=600))
    assert (grant.subject, grant.role, grant.playlist) == ("ann", Role.WRITE, "jazz")
    assert 590 <= grant.seconds_left() <= 600


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        ("read", Role.READ, True),
        ("read", Role.WRITE, False),
        ("read", Role.ADMIN, False),
        ("write", Role.READ, True),
        ("write", Role.WRITE, True),
        ("write", Role.ADMIN, False),
        ("admin", Role.ADMIN, True),
    ],
)
def test_each_role_includes_the_ones_below_it(role: str, action: Role, allowed: bool) -> None:
    grant = Grant(subject="x", role=Role.named(role), playlist="jazz")
    assert grant.can(action, "jazz") is allowed
    assert grant.can(action, "rock") is False


def test_what_is_in_no_playlist_is_readable_by_any_grant_and_changed_only_with_star() -> None:
    one = Grant(subject="x", role=Role.ADMIN, playlist="jazz")
    star = Grant(subject="x", role=Role.ADMIN, playlist=ANY_PLAYLIST)
    assert one.can(Role.READ, None) and not one.can(Role.WRITE, None)
    assert star.can(Role.ADMIN, None) and star.can(Role.ADMIN, "anything")


@pytest.mark.parametrize(
    "claims",
    [
        {"playlist": "jazz", "role": "read", "exp": time.time() + 60},  # no sub
        {"sub": "x", "role": "read", "exp": time.time() + 60},  # no playlist
        {"sub": "x", "playlist": "jazz", "exp": time.time() + 60},  # no role
        {"sub": "x", "playlist": "jazz", "role": "read"},  # no exp
        {"sub": "x", "playlist": "jazz", "role": "owner", "exp": time.time() + 60},
        {"sub": "x", "playlist": "no spaces", "role": "read", "exp": time.time() + 60},
        {"sub": "", "playlist": "jazz", "role": "read", "exp": time.time() + 60},
        {"sub": "x\ud800", "playlist": "jazz", "role": "read", "exp": time.time() + 60},
        {"sub": "x", "playlist": ["jazz"], "role": "read", "exp": time.time() + 60},
    ],
)
def test_a_signed_token_with_missing_or_wrong_claims_is_refused(claims: dict) -> None:
    with pytest.raises(Unauthenticated):
        AUTH.grant(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_another_algorithm_is_refused_even_with_the_right_secret() -> None:
    claims = {"sub": "x", "playlist": "jazz", "role": "read", "exp": time.time() + 60}
    with pytest.raises(Unauthenticated):
        AUTH.grant(jwt.encode(claims, SECRET, algorithm="HS512"))


def test_an_expired_token_says_so() -> None:
    old = mint(SECRET, playlist="jazz", role="read", subject="x", ttl_seconds=1, now=1000)
    with pytest.raises(Unauthenticated, match="expired"):
        AUTH.grant(old)


def test_without_a_secret_everything_is_open() -> None:
    grant = AllowAll().grant(None)
    assert grant.subject is None and grant.can(Role.ADMIN, "anything")


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("1h", 3600), ("7d", 604800)]
)
def test_ttls_read_as_seconds(text: str, seconds: int) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "1w", "-1h", "0", "1.5h"])
def test_a_bad_ttl_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ttl(text)


def playsync(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "PLAYSYNC_AUTH_SECRET"}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_playsync_token_mints_what_the_server_accepts(server) -> None:
    done = playsync(
        "token", "--playlist", "cli-list", "--role", "write", "--subject", "eve", "--ttl", "5m",
        PLAYSYNC_AUTH_SECRET=SECRET,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    minted = done.stdout.strip()
    grant = AUTH.grant(minted)
    assert (grant.subject, grant.role, grant.playlist) == ("eve", Role.WRITE, "cli-list")
    claims = jwt.decode(minted, SECRET, algorithms=["HS256"])
    assert 295 <= claims["exp"] - time.time() <= 300
    response = httpx.post(
        f"{server.base_url}/api/playlists/cli-list/",
        json={"track_id": 9},
        headers={"Authorization": f"Bearer {minted}"},
    )
    assert response.status_code == 201 and response.json()["added_by"] == "eve"


def test_playsync_token_takes_the_secret_as_a_flag_and_needs_one() -> None:
    flagged = playsync("token", "--playlist", "*", "--role", "admin", "--auth-secret", SECRET)
    assert flagged.returncode == 0, flagged.stderr
    assert AUTH.grant(flagged.stdout.strip()).playlist == ANY_PLAYLIST
    missing = playsync("token", "--playlist", "*", "--role", "admin")
    assert missing.returncode != 0 and "secret" in missing.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--playlist", "no spaces", "--role", "read"),
        ("--playlist", "jazz", "--role", "owner"),
        ("--playlist", "jazz", "--role", "read", "--ttl", "soon"),
    ],
)
def test_playsync_token_refuses_bad_arguments(args: tuple[str, ...]) -> None:
    done = playsync("token", *args, PLAYSYNC_AUTH_SECRET=SECRET)
    assert done.returncode != 0 and done.stdout == ""


def test_playsync_token_reads_the_secret_from_a_dot_env_file(tmp_path) -> None:
    (tmp_path / ".env").write_text(f"PLAYSYNC_AUTH_SECRET={SECRET}\n")
    environment = {k: v for k, v in os.environ.items() if k != "PLAYSYNC_AUTH_SECRET"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "playsync"), "token", "--playlist", "jazz",
         "--role", "read"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert AUTH.grant(done.stdout.strip()).playlist == "jazz"
