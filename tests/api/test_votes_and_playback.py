"""Votes, play, stop, PATCH is_playing, delete of the playing item, history (CONTRACT §2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .conftest import assert_error, assert_item_shape, parse_iso, strict_json


def _now_window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(seconds=10), now + timedelta(seconds=10)


def _playing(pl) -> list[str]:
    return [item["id"] for item in pl.list() if item["is_playing"]]


@pytest.mark.parametrize("slash", ["/", ""])
def test_a_vote_up_adds_one_and_answers_the_item(api, pl, slash):
    item = pl.add(1)
    response = api.post(pl.url(item["id"], "vote").rstrip("/") + slash, json={"direction": "up"})
    assert response.status_code == 200, response.text
    voted = strict_json(response)
    assert_item_shape(voted)
    assert voted["id"] == item["id"]
    assert voted["votes"] == 1
    assert pl.get(item["id"])["votes"] == 1


def test_a_vote_down_subtracts_one(pl):
    item = pl.add(2)
    pl.vote(item["id"], "up")
    pl.vote(item["id"], "up")
    assert pl.vote(item["id"], "down")["votes"] == 1


def test_votes_have_no_floor_and_go_negative(pl):
    item = pl.add(3)
    totals = [pl.vote(item["id"], "down")["votes"] for _ in range(3)]
    assert totals == [-1, -2, -3]
    assert pl.get(item["id"])["votes"] == -3
    assert pl.list()[0]["votes"] == -3


def test_votes_of_one_item_do_not_touch_another(pl):
    a = pl.add(4)
    b = pl.add(5)
    pl.vote(a["id"], "up")
    assert pl.get(b["id"])["votes"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"direction": "sideways"},
        {"direction": "UP"},
        {"direction": "Down"},
        {"direction": " up"},
        {"direction": ""},
        {"direction": None},
        {"direction": 1},
        {"direction": True},
        {"direction": ["up"]},
        {"direction": {"up": 1}},
        {},
    ],
    ids=repr,
)
def test_a_bad_direction_is_400_and_the_votes_stay(api, pl, body):
    item = pl.add(6)
    assert_error(api.post(pl.url(item["id"], "vote"), json=body), 400)
    assert pl.get(item["id"])["votes"] == 0


def test_a_vote_without_a_body_is_a_bad_direction(api, pl):
    item = pl.add(7)
    assert_error(api.post(pl.url(item["id"], "vote")), 400)


@pytest.mark.parametrize("slash", ["/", ""])
def test_the_play_endpoint_plays_the_item_and_stamps_played_at(api, pl, slash):
    item = pl.add(8)
    low, high = _now_window()
    response = api.post(pl.url(item["id"], "play").rstrip("/") + slash)
    assert response.status_code == 200, response.text
    played = strict_json(response)
    assert_item_shape(played)
    assert played["id"] == item["id"]
    assert played["is_playing"] is True
    assert played["played_at"] is not None
    assert low <= parse_iso(played["played_at"]) <= high
    assert pl.get(item["id"]) == played


def test_playing_an_item_stops_every_other_item(pl):
    a, b, c = (pl.add(t) for t in (9, 10, 11))
    pl.play(a["id"])
    assert _playing(pl) == [a["id"]]
    pl.play(c["id"])
    assert _playing(pl) == [c["id"]]
    items = {item["id"]: item for item in pl.list()}
    assert items[a["id"]]["played_at"] is not None  # it was played, and stays in history
    assert items[b["id"]]["played_at"] is None


def test_patch_is_playing_true_plays_the_item_like_the_play_endpoint(pl):
    a, b = pl.add(12), pl.add(13)
    pl.play(a["id"])
    low, high = _now_window()
    patched = pl.patch(b["id"], is_playing=True)
    assert patched["is_playing"] is True
    assert low <= parse_iso(patched["played_at"]) <= high
    assert _playing(pl) == [b["id"]]


def test_playing_again_renews_played_at(pl):
    item = pl.add(14)
    first = pl.play(item["id"])["played_at"]
    pl.stop()
    second = pl.patch(item["id"], is_playing=True)["played_at"]
    assert parse_iso(second) >= parse_iso(first)
    assert second != first


def test_patch_is_playing_false_on_the_playing_item_stops_playback(pl):
    item = pl.add(15)
    pl.play(item["id"])
    stopped = pl.patch(item["id"], is_playing=False)
    assert stopped["is_playing"] is False
    assert stopped["played_at"] is not None
    assert _playing(pl) == []


def test_patch_is_playing_false_on_another_item_leaves_playback_alone(pl):
    a, b = pl.add(16), pl.add(17)
    pl.play(a["id"])
    assert pl.patch(b["id"], is_playing=False)["is_playing"] is False
    assert _playing(pl) == [a["id"]]


def test_patch_can_move_and_play_at_once(pl):
    a, b = pl.add(18), pl.add(19)
    patched = pl.patch(b["id"], position=0, is_playing=True)
    assert patched["position"] == 0
    assert patched["is_playing"] is True
    assert [item["id"] for item in pl.list()] == [b["id"], a["id"]]


@pytest.mark.parametrize("value", ["true", "false", 1, 0, [True], {"on": True}, "yes"], ids=repr)
def test_patch_is_playing_that_is_not_a_boolean_is_400_and_changes_nothing(api, pl, value):
    item = pl.add(20)
    response = api.patch(pl.url(item["id"]), json={"is_playing": value, "position": 9})
    assert_error(response, 400)
    assert pl.get(item["id"]) == item


@pytest.mark.parametrize("slash", ["/", ""])
def test_stop_answers_status_stopped_and_nothing_plays(api, pl, slash):
    pl.add(21)
    b = pl.add(22)
    pl.play(b["id"])
    response = api.post(pl.url("stop").rstrip("/") + slash)
    assert response.status_code == 200
    assert strict_json(response) == {"status": "stopped"}
    assert _playing(pl) == []
    assert pl.get(b["id"])["played_at"] is not None


def test_stop_when_nothing_plays_still_answers_stopped(pl):
    assert pl.stop() == {"status": "stopped"}
    pl.add(23)
    assert pl.stop() == {"status": "stopped"}


def test_deleting_the_playing_item_stops_playback(api, pl):
    a, b = pl.add(24), pl.add(25)
    pl.play(b["id"])
    assert api.delete(pl.url(b["id"])).status_code == 204
    assert _playing(pl) == []
    # Playing something else afterwards works as usual.
    assert pl.play(a["id"])["is_playing"] is True


def test_deleting_another_item_keeps_playback(api, pl):
    a, b = pl.add(26), pl.add(27)
    pl.play(a["id"])
    assert api.delete(pl.url(b["id"])).status_code == 204
    assert _playing(pl) == [a["id"]]


@pytest.mark.parametrize("slash", ["/", ""])
def test_history_lists_only_played_items_newest_first(api, pl, slash):
    a, b, c, d = (pl.add(t) for t in (1, 2, 3, 4))
    pl.play(b["id"])
    pl.play(d["id"])
    pl.patch(a["id"], is_playing=True)
    pl.stop()
    response = api.get(pl.url("history").rstrip("/") + slash)
    assert response.status_code == 200
    history = strict_json(response)
    assert isinstance(history, list)
    assert [item["id"] for item in history] == [a["id"], d["id"], b["id"]]
    assert c["id"] not in {item["id"] for item in history}
    for item in history:
        assert_item_shape(item)
        assert item["played_at"] is not None
    stamps = [parse_iso(item["played_at"]) for item in history]
    assert stamps == sorted(stamps, reverse=True)


def test_replaying_an_item_moves_it_to_the_front_of_history(pl):
    a, b = pl.add(5), pl.add(6)
    pl.play(a["id"])
    pl.play(b["id"])
    pl.play(a["id"])
    assert [item["id"] for item in pl.history()] == [a["id"], b["id"]]


def test_a_deleted_item_leaves_history(api, pl):
    a, b = pl.add(7), pl.add(8)
    pl.play(a["id"])
    pl.play(b["id"])
    assert api.delete(pl.url(a["id"])).status_code == 204
    assert [item["id"] for item in pl.history()] == [b["id"]]


def test_history_holds_at_most_the_20_most_recently_played_items(pl):
    items = [pl.add(track) for track in range(1, 23)]
    for item in items:
        pl.play(item["id"])
    history = pl.history()
    assert len(history) == 20
    assert [item["id"] for item in history] == [item["id"] for item in reversed(items)][:20]
    assert history[0]["is_playing"] is True
    assert all(not item["is_playing"] for item in history[1:])


@pytest.mark.parametrize("action", ["vote", "play"])
@pytest.mark.parametrize("item_id", ["nope", "00000000-0000-0000-0000-000000000000"])
def test_vote_and_play_on_an_unknown_item_are_404(api, pl, action, item_id):
    pl.add(28)
    body = {"direction": "up"} if action == "vote" else None
    assert_error(api.post(pl.url(item_id, action), json=body), 404, "NOT_FOUND")
