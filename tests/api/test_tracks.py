"""GET /api/tracks/ and /api/tracks/{id}/: the read-only library (CONTRACT §2)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT

from .conftest import assert_error, assert_track_shape, strict_json

SEED = {
    t["id"]: t
    for t in json.loads((ROOT / "server" / "engine" / "seed_tracks.json").read_text("utf-8"))
}
ORDERING_FIELDS = ("title", "artist", "album", "duration_seconds", "created_at", "genre")


def _key(value):
    return value.casefold() if isinstance(value, str) else value


def _tracks(api, **params) -> list[dict]:
    response = api.get("/api/tracks/", params=params)
    assert response.status_code == 200, response.text
    body = strict_json(response)
    assert isinstance(body, list)
    return body


def test_the_track_list_is_a_plain_array_of_the_whole_seeded_library(api):
    tracks = _tracks(api)
    assert sorted(t["id"] for t in tracks) == sorted(SEED)
    for track in tracks:
        assert_track_shape(track)
        seed = SEED[track["id"]]
        for field in ("title", "artist", "album", "duration_seconds", "genre", "cover_url"):
            assert track[field] == seed[field], (field, track)


def test_duration_formatted_is_minutes_colon_two_digit_seconds(api):
    by_id = {t["id"]: t for t in _tracks(api)}
    assert by_id[1]["duration_formatted"] == "5:55"  # 355 s
    assert by_id[2]["duration_formatted"] == "8:02"  # 482 s
    assert by_id[12]["duration_formatted"] == "10:34"  # 634 s
    assert by_id[19]["duration_formatted"] == "2:28"  # 148 s


def test_the_default_order_is_artist_then_title(api):
    tracks = _tracks(api)
    keys = [(_key(t["artist"]), _key(t["title"])) for t in tracks]
    assert keys == sorted(keys)
    # Beethoven has two tracks: their titles decide.
    beethoven = [t["title"] for t in tracks if t["artist"] == "Ludwig van Beethoven"]
    assert beethoven == ["Für Elise", "Symphony No. 5"]


@pytest.mark.parametrize("field", ORDERING_FIELDS)
def test_ordering_by_each_allowed_field_sorts_ascending(api, field):
    values = [_key(t[field]) for t in _tracks(api, ordering=field)]
    assert values == sorted(values)


@pytest.mark.parametrize("field", ORDERING_FIELDS)
def test_ordering_with_a_minus_sorts_descending(api, field):
    values = [_key(t[field]) for t in _tracks(api, ordering=f"-{field}")]
    assert values == sorted(values, reverse=True)


def test_ordering_by_duration_puts_the_shortest_and_longest_tracks_at_the_ends(api):
    ascending = _tracks(api, ordering="duration_seconds")
    descending = _tracks(api, ordering="-duration_seconds")
    assert ascending[0]["id"] == 19  # 148 s
    assert descending[0]["id"] == 18  # 826 s
    assert len(ascending) == len(descending) == 35


def test_an_unknown_ordering_field_is_ignored_and_the_default_order_applies(api):
    default = [t["id"] for t in _tracks(api)]
    assert [t["id"] for t in _tracks(api, ordering="bogus")] == default
    assert [t["id"] for t in _tracks(api, ordering="-password")] == default
    titles = [_key(t["title"]) for t in _tracks(api, ordering="bogus,-title")]
    assert titles == sorted(titles, reverse=True)


@pytest.mark.parametrize("query", ["queen", "QUEEN", "hotel", "nIgHt", "the", "÷", "ü", "kendrick"])
def test_search_is_a_case_insensitive_substring_of_title_artist_or_album(api, query):
    needle = query.casefold()
    expected = {
        t["id"]
        for t in SEED.values()
        if needle in t["title"].casefold()
        or needle in t["artist"].casefold()
        or needle in t["album"].casefold()
    }
    assert {t["id"] for t in _tracks(api, search=query)} == expected


def test_search_matches_by_title_by_artist_and_by_album(api):
    assert [t["id"] for t in _tracks(api, search="teen spirit")] == [5]  # title
    assert [t["id"] for t in _tracks(api, search="deadmau")] == [12]  # artist
    assert [t["id"] for t in _tracks(api, search="thriller")] == [6]  # album only
    assert _tracks(api, search="no such song anywhere") == []


def test_genre_filters_exactly(api):
    rock = _tracks(api, genre="rock")
    assert {t["id"] for t in rock} == {1, 2, 3, 4, 5}
    assert {t["id"] for t in _tracks(api, genre="hip-hop")} == {26, 27, 28, 29, 30}
    assert _tracks(api, genre="ro") == []
    assert _tracks(api, genre="nope") == []


def test_search_genre_and_ordering_combine(api):
    tracks = _tracks(api, genre="classical", search="beethoven", ordering="-title")
    assert [t["title"] for t in tracks] == ["Symphony No. 5", "Für Elise"]


@pytest.mark.parametrize("path", ["/api/tracks/7/", "/api/tracks/7"])
def test_a_track_is_served_by_id_with_or_without_the_trailing_slash(api, path):
    response = api.get(path)
    assert response.status_code == 200
    track = strict_json(response)
    assert_track_shape(track)
    assert track["id"] == 7
    assert track["title"] == "Shape of You"
    assert track["album"] == "÷ (Divide)"


@pytest.mark.parametrize("track_id", ["999", "0", "-1", "99999999999999999999999"])
def test_an_unknown_track_id_is_404_not_found(api, track_id):
    assert_error(api.get(f"/api/tracks/{track_id}/"), 404, "NOT_FOUND")
    assert_error(api.get(f"/api/tracks/{track_id}"), 404, "NOT_FOUND")


def test_a_non_numeric_track_id_is_404(api):
    assert_error(api.get("/api/tracks/abc/"), 404)
