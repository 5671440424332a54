"""Playlist items: list, add, get, move, delete; the default playlist; playlist names (§2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .conftest import (
    Playlist,
    assert_error,
    assert_error_shape,
    assert_item_shape,
    client_for,
    parse_utc,
    strict_json,
)


def test_a_playlist_that_was_never_written_lists_as_an_empty_array(pl):
    assert pl.list() == []


@pytest.mark.parametrize("slash", ["/", ""])
def test_the_item_list_answers_with_and_without_the_trailing_slash(api, pl, slash):
    pl.add(1)
    response = api.get(pl.base + slash)
    assert response.status_code == 200
    assert [item["track_id"] for item in strict_json(response)] == [1]


@pytest.mark.parametrize("slash", ["/", ""])
def test_adding_an_item_answers_201_with_and_without_the_trailing_slash(api, pl, slash):
    response = api.post(pl.base + slash, json={"track_id": 3})
    assert response.status_code == 201, response.text
    assert strict_json(response)["track_id"] == 3


def test_an_added_item_has_every_field_of_the_contract_with_its_type(pl):
    before = datetime.now(UTC) - timedelta(seconds=5)
    item = pl.add(6, added_by="dj")
    after = datetime.now(UTC) + timedelta(seconds=5)
    assert_item_shape(item)
    assert item["track_id"] == 6
    assert item["track"]["title"] == "Billie Jean"
    assert item["track"]["duration_formatted"] == "4:54"
    assert item["votes"] == 0
    assert item["added_by"] == "dj"
    assert item["is_playing"] is False
    assert item["played_at"] is None
    assert before <= parse_utc(item["added_at"]) <= after
    assert item["added_at"].endswith(("Z", "+00:00"))


def test_an_item_keeps_its_id_and_reads_the_same_from_the_list_and_by_id(pl):
    created = pl.add(10)
    assert pl.get(created["id"]) == created
    assert pl.list() == [created]


def test_the_first_item_of_an_empty_playlist_goes_to_position_1(pl):
    assert pl.add(1)["position"] == 1.0


def test_without_a_position_an_item_is_appended_at_last_plus_one(pl):
    assert [pl.add(t)["position"] for t in (1, 2, 3)] == [1.0, 2.0, 3.0]
    pl.add(4, position=7.25)
    assert pl.add(5)["position"] == 8.25
    pl.add(6, position=-3)  # not last: the append still follows the last one
    assert pl.add(7)["position"] == 9.25


@pytest.mark.parametrize("position", [0.5, -2, 0, 123456.789, 1e300])
def test_an_explicit_position_is_kept(pl, position):
    item = pl.add(8, position=position)
    assert item["position"] == position
    assert pl.get(item["id"])["position"] == position


def test_track_is_accepted_as_an_alias_of_track_id(api, pl):
    response = api.post(pl.url(), json={"track": 9})
    assert response.status_code == 201, response.text
    item = strict_json(response)
    assert item["track_id"] == 9
    assert item["track"]["title"] == "Blinding Lights"


def test_the_track_alias_is_used_when_track_id_is_null(api, pl):
    response = api.post(pl.url(), json={"track_id": None, "track": 12})
    assert response.status_code == 201, response.text
    assert strict_json(response)["track_id"] == 12


def test_added_by_defaults_to_anonymous(pl):
    assert pl.add(11)["added_by"] == "Anonymous"


def test_added_by_of_100_characters_is_accepted(pl):
    assert pl.add(12, added_by="x" * 100)["added_by"] == "x" * 100
    assert pl.add(13, added_by="é" * 100)["added_by"] == "é" * 100


def test_added_by_over_100_characters_is_rejected_and_nothing_is_added(api, pl):
    response = api.post(pl.url(), json={"track_id": 14, "added_by": "x" * 101})
    assert_error(response, 400)
    assert pl.list() == []


def test_the_list_is_ordered_by_position(pl):
    c = pl.add(1, position=3)
    a = pl.add(2, position=-1)
    b = pl.add(3, position=0.5)
    assert [item["id"] for item in pl.list()] == [a["id"], b["id"], c["id"]]


def test_items_with_the_same_position_are_ordered_by_id(pl):
    first = pl.add(1, position=1)["id"]
    tied = [pl.add(t, position=5)["id"] for t in (2, 3)]
    listed = pl.list()
    # The server may respread tied positions (CONTRACT §5); the order it keeps is by id.
    assert [item["id"] for item in listed] == [first, *sorted(tied)]
    positions = [item["position"] for item in listed]
    assert positions == sorted(positions)


@pytest.mark.parametrize("slash", ["/", ""])
def test_an_item_is_served_by_id_with_and_without_the_trailing_slash(api, pl, slash):
    item = pl.add(15)
    response = api.get(pl.url(item["id"]).rstrip("/") + slash)
    assert response.status_code == 200
    assert strict_json(response) == item


@pytest.mark.parametrize("item_id", ["nope", "00000000-0000-0000-0000-000000000000", "ümlaut"])
def test_an_unknown_item_is_404_not_found(api, pl, item_id):
    pl.add(16)
    assert_error(api.get(pl.url(item_id)), 404, "NOT_FOUND")
    assert_error(api.get(pl.url(item_id).rstrip("/")), 404, "NOT_FOUND")


def test_history_and_stop_are_fixed_paths_that_win_over_item_ids(api, pl):
    pl.add(17)
    history = api.get(pl.url("history"))
    assert history.status_code == 200
    assert strict_json(history) == []
    stop = api.post(pl.url("stop"))
    assert stop.status_code == 200
    assert strict_json(stop) == {"status": "stopped"}


@pytest.mark.parametrize("slash", ["/", ""])
def test_patching_the_position_moves_the_item_with_and_without_the_slash(api, pl, slash):
    a, b, c = (pl.add(t) for t in (1, 2, 3))
    response = api.patch(pl.url(a["id"]).rstrip("/") + slash, json={"position": 2.5})
    assert response.status_code == 200, response.text
    moved = strict_json(response)
    assert_item_shape(moved)
    assert moved["id"] == a["id"]
    assert moved["position"] == 2.5
    assert [item["id"] for item in pl.list()] == [b["id"], moved["id"], c["id"]]


@pytest.mark.parametrize("position", [0, -7, 3, 1e-9, 1.7e308])
def test_patching_the_position_accepts_any_finite_number(pl, position):
    item = pl.add(18)
    assert pl.patch(item["id"], position=position)["position"] == position


@pytest.mark.parametrize(
    "body",
    [
        b'{"position": NaN}',
        b'{"position": Infinity}',
        b'{"position": -Infinity}',
        b'{"position": 1e400}',
        b'{"position": ' + b"1" + b"0" * 400 + b"}",
        b'{"position": "2"}',
        b'{"position": "abc"}',
        b'{"position": true}',
        b'{"position": false}',
        b'{"position": [1]}',
        b'{"position": {"value": 1}}',
    ],
    ids=lambda body: body.decode()[:40],
)
def test_patching_a_position_that_is_not_a_finite_number_is_400(api, pl, body):
    item = pl.add(19, position=4)
    response = api.patch(
        pl.url(item["id"]), content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 400)
    assert pl.get(item["id"])["position"] == 4


def test_an_empty_patch_changes_nothing(api, pl):
    item = pl.add(20)
    assert pl.patch(item["id"]) == item


@pytest.mark.parametrize("slash", ["/", ""])
def test_delete_answers_204_and_the_item_is_gone(api, pl, slash):
    keep = pl.add(21)
    gone = pl.add(22)
    response = api.delete(pl.url(gone["id"]).rstrip("/") + slash)
    assert response.status_code == 204
    assert response.content == b""
    assert [item["id"] for item in pl.list()] == [keep["id"]]
    assert_error(api.get(pl.url(gone["id"])), 404, "NOT_FOUND")
    assert_error(api.delete(pl.url(gone["id"])), 404, "NOT_FOUND")


def test_a_deleted_track_can_be_added_again(api, pl):
    item = pl.add(23)
    assert api.delete(pl.url(item["id"])).status_code == 204
    again = pl.add(23)
    assert again["id"] != item["id"]


def test_the_same_track_may_be_in_two_different_playlists(api, pl, playlist):
    other = Playlist(api, f"/api/playlists/{playlist}-other")
    pl.add(24)
    assert other.add(24)["track_id"] == 24


def test_a_playlist_created_by_a_write_is_listed(api, playlist, pl):
    def names() -> set[str]:
        response = api.get("/api/playlists/")
        assert response.status_code == 200
        entries = strict_json(response)
        assert isinstance(entries, list)
        assert all(isinstance(entry, dict) and "name" in entry for entry in entries)
        return {entry["name"] for entry in entries}

    assert playlist not in names()
    pl.add(25)
    assert playlist in names()
    response = api.get("/api/playlists")
    assert response.status_code == 200
    assert playlist in {entry["name"] for entry in strict_json(response)}


def test_reading_a_playlist_does_not_create_it(api, playlist, pl):
    pl.list()
    pl.history()
    assert_error(api.post(pl.url(), json={"track_id": 9999}), 400, "TRACK_NOT_FOUND")
    assert playlist not in {entry["name"] for entry in strict_json(api.get("/api/playlists/"))}


@pytest.mark.parametrize("name", ["Z", "A-z_0-9", "y" * 64, "UPPER", "-_-"])
def test_playlist_names_of_1_to_64_allowed_characters_work(api, name):
    created = api.post(f"/api/playlists/{name}/", json={"track_id": 26})
    if created.status_code != 201:  # another test of this session may use the name too
        assert_error(created, 400, "DUPLICATE_TRACK")
    listed = api.get(f"/api/playlists/{name}")
    assert listed.status_code == 200
    assert 26 in [item["track_id"] for item in strict_json(listed)]
    assert name in {entry["name"] for entry in strict_json(api.get("/api/playlists/"))}


@pytest.mark.parametrize(
    "name",
    ["x" * 65, "has.dot", "has%20space", "ümlaut", "semi;colon", "star*", "%00", "a+b"],
)
def test_an_invalid_playlist_name_is_a_4xx_with_the_error_shape_and_creates_nothing(api, name):
    for method, body in (("GET", None), ("POST", {"track_id": 27})):
        response = api.request(method, f"/api/playlists/{name}/", json=body)
        assert 400 <= response.status_code < 500, (method, response.status_code)
        assert_error_shape(response)
    listed = {entry["name"] for entry in strict_json(api.get("/api/playlists/"))}
    assert name not in listed
    assert name.replace("%20", " ").replace("%00", "\x00") not in listed


def test_api_playlist_is_the_playlist_named_default_with_or_without_slashes(make_server):
    server = make_server()
    with client_for(server) as client:
        short = Playlist(client, "/api/playlist")
        named = Playlist(client, "/api/playlists/default")
        a = short.add(1)
        b = named.add(2)
        assert short.list() == named.list() == [a, b]
        assert named.get(a["id"]) == a
        assert short.get(b["id"]) == b
        assert_error(client.post(named.url(), json={"track_id": 1}), 400, "DUPLICATE_TRACK")
        played = short.play(b["id"])
        assert named.get(b["id"]) == played
        assert named.history() == [played]
        assert short.history() == [played]
        assert named.stop() == {"status": "stopped"}
        assert short.get(b["id"])["is_playing"] is False
        short.patch(a["id"], position=10)
        assert [item["id"] for item in named.list()] == [b["id"], a["id"]]
        named.vote(a["id"], "up")
        assert short.get(a["id"])["votes"] == 1
        assert client.delete(named.url(a["id"])).status_code == 204
        assert [item["id"] for item in short.list()] == [b["id"]]
        listed = strict_json(client.get("/api/playlists/"))
        assert [entry["name"] for entry in listed] == ["default"]

        # Every path of the default playlist also answers without its trailing slash.
        created = client.post("/api/playlist", json={"track_id": 5})
        assert created.status_code == 201, created.text
        item_id = strict_json(created)["id"]
        base = f"/api/playlist/{item_id}"
        checks = [
            ("GET", "/api/playlist", None, 200),
            ("GET", base, None, 200),
            ("PATCH", base, {"position": 4}, 200),
            ("POST", f"{base}/vote", {"direction": "down"}, 200),
            ("POST", f"{base}/play", None, 200),
            ("GET", "/api/playlist/history", None, 200),
            ("POST", "/api/playlist/stop", None, 200),
            ("DELETE", base, None, 204),
        ]
        for method, path, body, status in checks:
            response = client.request(method, path, json=body)
            assert response.status_code == status, (method, path, response.text)
            assert "location" not in response.headers
