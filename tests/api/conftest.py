"""Helpers for the REST API tests (CONTRACT §2): strict JSON, the error shape, adding items."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

ERROR_CODE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
DURATION = re.compile(r"^\d+:[0-5]\d$")

TRACK_FIELDS = {
    "id": int,
    "title": str,
    "artist": str,
    "album": str,
    "duration_seconds": int,
    "duration_formatted": str,
    "genre": str,
    "created_at": str,
}
ITEM_FIELDS = (
    "id",
    "track",
    "track_id",
    "position",
    "votes",
    "added_by",
    "added_at",
    "is_playing",
    "played_at",
)


def _reject_constant(token: str) -> Any:
    raise ValueError(f"not JSON: {token}")


def strict_json(response: httpx.Response) -> Any:
    """The body as RFC 8259 JSON: ``NaN``/``Infinity`` tokens are not JSON and fail here."""
    return json.loads(response.content, parse_constant=_reject_constant)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The response is ``status`` with ``{"error": {"code", "message", "details"}}``."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    error = assert_error_shape(response)
    if code is not None:
        assert error["code"] == code, error
    return error


def assert_error_shape(response: httpx.Response) -> dict:
    assert response.headers.get("content-type", "").startswith("application/json"), (
        response.headers,
        response.text[:300],
    )
    body = strict_json(response)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and ERROR_CODE.match(error["code"]), error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], dict), error
    return error


def parse_utc(value: str) -> datetime:
    """An ISO-8601 timestamp that is explicitly UTC."""
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    assert parsed.utcoffset() == timedelta(0), value
    return parsed.astimezone(UTC)


def parse_iso(value: str) -> datetime:
    """An ISO-8601 timestamp; one without an offset is read as UTC."""
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def assert_track_shape(track: dict) -> None:
    assert set(track) == {*TRACK_FIELDS, "cover_url"}, track
    for name, kind in TRACK_FIELDS.items():
        assert type(track[name]) is kind, (name, track[name])
    assert track["cover_url"] is None or isinstance(track["cover_url"], str)
    seconds = track["duration_seconds"]
    assert DURATION.match(track["duration_formatted"]), track
    assert track["duration_formatted"] == f"{seconds // 60}:{seconds % 60:02d}"
    parse_utc(track["created_at"])


def assert_item_shape(item: dict) -> None:
    assert set(item) == set(ITEM_FIELDS), item
    assert isinstance(item["id"], str) and item["id"]
    assert_track_shape(item["track"])
    assert type(item["track_id"]) is int
    assert item["track"]["id"] == item["track_id"]
    assert type(item["position"]) in (int, float)
    assert type(item["votes"]) is int
    assert isinstance(item["added_by"], str)
    parse_utc(item["added_at"])
    assert type(item["is_playing"]) is bool
    if item["played_at"] is not None:
        parse_iso(item["played_at"])


class Playlist:
    """One playlist's REST paths, relative to the server."""

    def __init__(self, client: httpx.Client, base: str) -> None:
        self.client = client
        self.base = base.rstrip("/")

    def url(self, *parts: str) -> str:
        return "/".join([self.base, *parts]) + "/"

    def list(self, **params: Any) -> Any:
        response = self.client.get(self.url(), params=params)
        assert response.status_code == 200, response.text
        return strict_json(response)

    def add(self, track_id: int, **fields: Any) -> dict:
        response = self.client.post(self.url(), json={"track_id": track_id, **fields})
        assert response.status_code == 201, response.text
        return strict_json(response)

    def get(self, item_id: str) -> dict:
        response = self.client.get(self.url(item_id))
        assert response.status_code == 200, response.text
        return strict_json(response)

    def patch(self, item_id: str, **fields: Any) -> dict:
        response = self.client.patch(self.url(item_id), json=fields)
        assert response.status_code == 200, response.text
        return strict_json(response)

    def play(self, item_id: str) -> dict:
        response = self.client.post(self.url(item_id, "play"))
        assert response.status_code == 200, response.text
        return strict_json(response)

    def vote(self, item_id: str, direction: str) -> dict:
        response = self.client.post(self.url(item_id, "vote"), json={"direction": direction})
        assert response.status_code == 200, response.text
        return strict_json(response)

    def stop(self) -> dict:
        response = self.client.post(self.url("stop"))
        assert response.status_code == 200, response.text
        return strict_json(response)

    def history(self, **params: Any) -> Any:
        response = self.client.get(self.url("history"), params=params)
        assert response.status_code == 200, response.text
        return strict_json(response)


def client_for(server) -> httpx.Client:
    """A client that opens a connection per request.

    The server drops a keep-alive connection when it answers before reading the whole
    request body (see ``test_the_connection_stays_usable_after_an_answer_sent_before_the_body``
    in test_errors.py); a reused connection would then fail the *next* request at random.
    """
    return httpx.Client(
        base_url=server.base_url,
        timeout=30,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


@pytest.fixture(scope="session")
def api(server) -> Iterator[httpx.Client]:
    """One client for the whole API suite (building one per test costs more than the test)."""
    with client_for(server) as client:
        yield client


@pytest.fixture
def pl(api: httpx.Client, playlist: str) -> Playlist:
    """The test's own playlist on the session server."""
    return Playlist(api, f"/api/playlists/{playlist}")
