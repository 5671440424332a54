"""The pagination envelope (query-driven, and always with --paginate) and CORS (CONTRACT §2)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import Playlist, assert_error_shape, client_for, strict_json

ENVELOPE = {"count", "next", "previous", "results"}


def _get(client, url: str, **params):
    response = client.get(url, params=params or None)
    assert response.status_code == 200, response.text
    return strict_json(response)


def _envelope(client, url: str, **params) -> dict:
    body = _get(client, url, **params)
    assert isinstance(body, dict) and set(body) == ENVELOPE, body
    assert isinstance(body["count"], int)
    assert isinstance(body["results"], list)
    return body


def _query(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query)


def _follow(client, first: dict) -> list:
    """Every result, following ``next`` links from the first page."""
    results, page = list(first["results"]), first
    while page["next"] is not None:
        page = _envelope(client, page["next"])
        results += page["results"]
    return results


# --- envelope on request


def test_without_page_parameters_every_list_is_a_plain_array(api, pl):
    pl.add(1)
    pl.play(pl.list()[0]["id"])
    for url in ("/api/tracks/", pl.url(), pl.url("history"), "/api/playlists/"):
        assert isinstance(_get(api, url), list), url


@pytest.mark.parametrize(
    "params", [{"page": "1"}, {"page_size": "100"}, {"page": "1", "page_size": "50"}]
)
def test_page_or_page_size_in_the_query_turns_the_track_list_into_the_envelope(api, params):
    plain = _get(api, "/api/tracks/")
    page = _envelope(api, "/api/tracks/", **params)
    assert page["count"] == 35
    assert page["results"] == plain
    assert page["next"] is None
    assert page["previous"] is None


def test_page_size_splits_the_list_and_next_links_walk_it_in_order(api):
    plain = _get(api, "/api/tracks/")
    first = _envelope(api, "/api/tracks/", page_size="10")
    assert first["count"] == 35
    assert first["results"] == plain[:10]
    assert first["previous"] is None
    link = urlsplit(first["next"])
    assert link.scheme == "http" and link.netloc  # absolute, like DRF's
    assert link.path == "/api/tracks/"
    assert _query(first["next"]) == {"page": ["2"], "page_size": ["10"]}
    assert _follow(api, first) == plain


def test_previous_links_go_back_and_the_first_page_link_has_no_page_parameter(api):
    plain = _get(api, "/api/tracks/")
    third = _envelope(api, "/api/tracks/", page="3", page_size="10")
    assert third["results"] == plain[20:30]
    assert _query(third["previous"]) == {"page": ["2"], "page_size": ["10"]}
    second = _envelope(api, third["previous"])
    assert second["results"] == plain[10:20]
    assert _query(second["previous"]) == {"page_size": ["10"]}  # DRF drops page=1
    first = _envelope(api, second["previous"])
    assert first["results"] == plain[:10]
    assert first["previous"] is None
    last = _envelope(api, "/api/tracks/", page="4", page_size="10")
    assert last["results"] == plain[30:]
    assert last["next"] is None


def test_links_keep_the_filters_and_ordering_of_the_query(api):
    plain = _get(api, "/api/tracks/", genre="rock", ordering="-title")
    first = _envelope(api, "/api/tracks/", genre="rock", ordering="-title", page_size="2")
    assert first["count"] == len(plain) == 5
    query = _query(first["next"])
    assert query["genre"] == ["rock"]
    assert query["ordering"] == ["-title"]
    assert _follow(api, first) == plain


def test_a_page_past_the_end_or_a_bad_page_is_a_404_with_the_error_shape_as_in_drf(api):
    for params in ({"page": "99"}, {"page": "0"}, {"page": "abc"}):
        response = api.get("/api/tracks/", params=params)
        assert response.status_code == 404, (params, response.status_code)
        assert_error_shape(response)


def test_a_bad_page_size_falls_back_to_the_default_as_in_drf(api):
    for bad in ("0", "-3", "abc", ""):
        page = _envelope(api, "/api/tracks/", page_size=bad)
        assert page["count"] == 35
        assert len(page["results"]) == 35  # the default size, 100, holds them all


def test_page_last_is_the_last_page_as_in_drf(api):
    last = _envelope(api, "/api/tracks/", page="last", page_size="10")
    assert len(last["results"]) == 5
    assert last["next"] is None


def test_the_item_list_history_and_playlist_list_come_as_the_envelope_on_request(api, pl):
    items = [pl.add(track) for track in (1, 2, 3)]
    for item in items:
        pl.play(item["id"])
    page = _envelope(api, pl.url(), page_size="2")
    assert page["count"] == 3
    assert [item["id"] for item in _follow(api, page)] == [item["id"] for item in pl.list()]
    history = _envelope(api, pl.url("history"), page="1")
    assert history["results"] == pl.history()
    playlists = _envelope(api, "/api/playlists/", page_size="1000")
    assert playlists["count"] == len(playlists["results"]) >= 1


# --- --paginate: every list is the envelope


def _assert_every_list_is_the_envelope(client) -> None:
    named = Playlist(client, "/api/playlists/paged")
    item = named.add(4)
    assert set(item) != ENVELOPE  # single objects stay as they are
    named.play(item["id"])
    default = Playlist(client, "/api/playlist")
    default.play(default.add(5)["id"])
    tracks = _envelope(client, "/api/tracks/")
    assert tracks["count"] == len(tracks["results"]) == 35
    assert tracks["next"] is None and tracks["previous"] is None
    assert "id" in _get(client, "/api/tracks/4/")
    for url in (named.url(), named.url("history"), default.url(), default.url("history")):
        page = _envelope(client, url)
        assert page["count"] == len(page["results"]) == 1, url
    names = [entry["name"] for entry in _envelope(client, "/api/playlists/")["results"]]
    assert set(names) == {"paged", "default"}
    small = _envelope(client, "/api/tracks/", page_size="20")
    assert len(small["results"]) == 20
    assert _query(small["next"]) == {"page": ["2"], "page_size": ["20"]}


def test_with_the_paginate_flag_every_list_is_the_envelope(make_server):
    server = make_server("--paginate")
    with client_for(server) as client:
        _assert_every_list_is_the_envelope(client)


def test_with_playsync_paginate_1_every_list_is_the_envelope_of_100_per_page(make_server):
    server = make_server(PLAYSYNC_PAGINATE="1")
    with client_for(server) as client:
        _assert_every_list_is_the_envelope(client)

        for index in range(100):
            created = client.post(f"/api/playlists/p{index:03d}/", json={"track_id": 1})
            assert created.status_code == 201, created.text
        first = _envelope(client, "/api/playlists/")
        assert first["count"] == 102
        assert len(first["results"]) == 100  # the default page size
        assert _query(first["next"]) == {"page": ["2"]}
        second = _envelope(client, first["next"])
        assert len(second["results"]) == 2
        assert second["next"] is None
        assert urlsplit(second["previous"]).query == ""


# --- CORS

ALLOWED = ("http://localhost:3000", "http://127.0.0.1:3000")
NOT_LISTED = ("http://evil.example", "http://localhost:3001", "https://localhost:3000", "null")


@pytest.mark.parametrize("origin", ALLOWED)
def test_an_allowed_origin_gets_access_control_allow_origin_on_a_get(api, origin):
    response = api.get("/api/tracks/", headers={"Origin": origin})
    assert response.status_code == 200
    assert response.headers.get("access-control-allow-origin") == origin


def test_an_allowed_origin_can_read_error_responses_too(api):
    response = api.get("/api/tracks/999/", headers={"Origin": ALLOWED[0]})
    assert response.status_code == 404
    assert response.headers.get("access-control-allow-origin") == ALLOWED[0]


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_an_allowed_origin_passes_the_preflight(api, pl, method):
    item = pl.add(7)
    url = pl.url() if method == "POST" else pl.url(item["id"])
    response = api.options(
        url,
        headers={
            "Origin": ALLOWED[0],
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert 200 <= response.status_code < 300
    assert response.headers.get("access-control-allow-origin") == ALLOWED[0]
    methods = response.headers.get("access-control-allow-methods", "")
    assert method in [m.strip().upper() for m in methods.split(",")] or methods == "*"
    allowed_headers = response.headers.get("access-control-allow-headers", "").lower()
    assert "content-type" in allowed_headers or allowed_headers == "*"


@pytest.mark.parametrize("origin", NOT_LISTED)
def test_an_origin_not_on_the_list_gets_no_cors_headers(api, pl, origin):
    response = api.get("/api/tracks/", headers={"Origin": origin})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = api.options(
        pl.url(),
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code < 500
    assert "access-control-allow-origin" not in preflight.headers
