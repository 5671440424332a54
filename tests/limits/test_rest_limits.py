"""REST writes validated whole before their transaction, PLAYLIST_FULL, and the rate limit
(CONTRACT §2, §9), each against a real server."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.api.conftest import assert_error


def _add(api: httpx.Client, playlist: str, body: dict | str) -> httpx.Response:
    content = body if isinstance(body, str) else json.dumps(body)  # ensure_ascii: \\ud800 as is
    return api.post(
        f"/api/playlists/{playlist}/", content=content, headers={"content-type": "application/json"}
    )


@pytest.mark.parametrize("added_by", ["x\ud800", "\udfff", "a\ud83dz"], ids=repr)
def test_a_string_pycrdt_refuses_is_a_400_and_writes_nothing(api, playlist, added_by):
    response = _add(api, playlist, {"track_id": 3, "added_by": added_by})
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": "added_by"}
    assert api.get(f"/api/playlists/{playlist}/").json() == []
    # Nothing half-written: the same track can be added right after (no DUPLICATE_TRACK).
    again = _add(api, playlist, {"track_id": 3, "added_by": "fine"})
    assert again.status_code == 201, again.text
    assert [item["added_by"] for item in api.get(f"/api/playlists/{playlist}/").json()] == ["fine"]


def test_text_pycrdt_holds_is_accepted(api, playlist):
    """NUL, noncharacters and astral characters are valid Unicode: pycrdt stores them."""
    for track, added_by in [(4, "a\x00b"), (5, "\uffff"), (6, "🎵 Zoë")]:
        response = _add(api, playlist, {"track_id": track, "added_by": added_by})
        assert response.status_code == 201, response.text
        assert response.json()["added_by"] == added_by


def test_an_add_beyond_max_items_is_playlist_full(make_server, playlist):
    server = make_server("--no-seed", PLAYSYNC_MAX_ITEMS="3")
    with httpx.Client(base_url=server.base_url, timeout=30) as api:
        for track in (1, 2, 3):
            assert _add(api, playlist, {"track_id": track}).status_code == 201
        error = assert_error(_add(api, playlist, {"track_id": 4}), 400, "PLAYLIST_FULL")
        assert error["details"] == {"max_items": 3}
        assert len(api.get(f"/api/playlists/{playlist}/").json()) == 3
        # Room again after a removal.
        first = api.get(f"/api/playlists/{playlist}/").json()[0]["id"]
        assert api.delete(f"/api/playlists/{playlist}/{first}/").status_code == 204
        assert _add(api, playlist, {"track_id": 4}).status_code == 201


def test_writes_past_the_rate_limit_are_429_with_retry_after(make_server, playlist):
    server = make_server("--no-seed", "--rate-limit", "3/s")
    with httpx.Client(base_url=server.base_url, timeout=30) as api:
        responses = []
        for track in range(1, 31):  # a burst far faster than 3/s: it must hit the limit
            responses.append(_add(api, playlist, {"track_id": track}))
            if responses[-1].status_code != 201:
                break
        refused = responses[-1]
        assert len(responses) > 3, [r.status_code for r in responses]  # the burst allowance
        error = assert_error(refused, 429, "RATE_LIMITED")
        retry_after = int(refused.headers["Retry-After"])
        assert retry_after >= 1
        assert error["details"]["retry_after"] == retry_after
        # Reads are not limited.
        assert api.get(f"/api/playlists/{playlist}/").status_code == 200
        # Another client (another address) has its own budget.
        other = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=server.base_url, transport=other, timeout=30) as api2:
            assert _add(api2, playlist, {"track_id": 21}).status_code == 201
        # And after Retry-After, the first one may write again.
        time.sleep(retry_after)
        assert _add(api, playlist, {"track_id": 22}).status_code == 201
