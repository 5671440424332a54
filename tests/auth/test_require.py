"""``api.auth.require(role)``: the decorator routes use to ask for more than the default rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from quart import Blueprint

from api.auth import require
from server.app import create_app
from server.settings import Settings

from .conftest import SECRET, bearer, token

extra = Blueprint("extra", __name__)


@extra.get("/api/extra/<name>/")
@require("admin")
async def admin_of_a_playlist(name: str):
    return {"name": name}


@extra.get("/api/extra-library/")
@require("write")
async def write_on_no_one_playlist():
    return {"ok": True}


def app_with(tmp_path: Path, secret: str | None):
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", auth_secret=secret)
    app = create_app(settings)
    app.register_blueprint(extra)
    return app


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (None, 401),
        (token("jazz", "read"), 403),
        (token("jazz", "write"), 403),
        (token("rock", "admin"), 403),
        (token("jazz", "admin"), 200),
        (token("*", "admin"), 200),
    ],
)
async def test_require_admin_on_the_routes_playlist(tmp_path, value, status) -> None:
    client = app_with(tmp_path, SECRET).test_client()
    response = await client.get("/api/extra/jazz/", headers=bearer(value))
    assert response.status_code == status


async def test_what_is_in_no_playlist_takes_a_star_token_to_change(tmp_path) -> None:
    client = app_with(tmp_path, SECRET).test_client()
    one = await client.get("/api/extra-library/", headers=bearer(token("jazz", "admin")))
    star = await client.get("/api/extra-library/", headers=bearer(token("*", "write")))
    assert (one.status_code, star.status_code) == (403, 200)


async def test_with_auth_off_require_lets_everything_through(tmp_path) -> None:
    client = app_with(tmp_path, None).test_client()
    assert (await client.get("/api/extra/jazz/")).status_code == 200
