"""Unit tests for crdt.operations: each write of schema v1 (CONTRACT §5)."""

from __future__ import annotations

import pytest
from pycrdt import Doc, Map

from crdt import schema as s
from crdt.operations import (
    ItemNotFound,
    add_item,
    move_item,
    play,
    remove_item,
    stop,
    vote,
)
from crdt.projection import project

T0 = "2024-05-01T12:00:00Z"
T1 = "2024-05-01T12:05:00Z"
T2 = "2024-05-01T12:10:00Z"


def add(doc: Doc, item_id: str, track_id: int = 1, **kwargs) -> None:
    kwargs.setdefault("added_by", "alice")
    kwargs.setdefault("added_at", T0)
    add_item(doc, item_id=item_id, track_id=track_id, **kwargs)


def raw_item(doc: Doc, item_id: str) -> dict:
    return s.items_map(doc)[item_id].to_py()


def position(doc: Doc, item_id: str) -> float:
    return s.items_map(doc)[item_id][s.POSITION]


def playback(doc: Doc) -> dict:
    return s.playback_map(doc).to_py()


def updates_of(doc: Doc) -> tuple[list[bytes], object]:
    """The update bytes of every transaction on ``doc`` from now on (keep the subscription)."""
    updates: list[bytes] = []
    return updates, doc.observe(lambda event: updates.append(event.update))


def sync(*docs: Doc) -> None:
    for source in docs:
        update = source.get_update()
        for target in docs:
            if target is not source:
                target.apply_update(update)


# --- add --------------------------------------------------------------------------------------


def test_appending_to_an_empty_playlist_puts_the_item_at_one() -> None:
    doc = Doc()
    add(doc, "a")
    assert position(doc, "a") == 1.0


def test_appending_puts_the_item_one_after_the_last_position() -> None:
    doc = Doc()
    add(doc, "a", position=10.0)
    add(doc, "b", position=2.5)
    add(doc, "c")
    assert position(doc, "c") == 11.0
    assert [item.id for item in project(doc).items] == ["b", "a", "c"]


def test_appending_after_a_negative_last_position_still_adds_one() -> None:
    doc = Doc()
    add(doc, "a", position=-7.5)
    add(doc, "b")
    assert position(doc, "b") == -6.5


def test_adding_with_a_position_stores_it_as_a_float() -> None:
    doc = Doc()
    add(doc, "a", position=3)
    add(doc, "b", position=1.25)
    assert position(doc, "a") == 3.0
    assert isinstance(position(doc, "a"), float)
    assert position(doc, "b") == 1.25


def test_an_added_item_has_every_field_of_the_schema() -> None:
    doc = Doc()
    add(doc, "a", track_id=42, added_by="bob", added_at=T1)
    value = s.items_map(doc)["a"]
    assert isinstance(value, Map)
    assert isinstance(value[s.VOTES], Map)
    assert raw_item(doc, "a") == {
        s.TRACK_ID: 42,
        s.POSITION: 1.0,
        s.ADDED_BY: "bob",
        s.ADDED_AT: T1,
        s.PLAYED_AT: None,
        s.VOTES: {},
    }


def test_adding_without_track_details_leaves_the_track_field_out() -> None:
    doc = Doc()
    add(doc, "a")
    assert s.TRACK not in raw_item(doc, "a")


def test_adding_with_track_details_stores_them_as_json() -> None:
    doc = Doc()
    add(doc, "a", track={"title": "Song", "artist": "Band", "tags": ["x"]})
    assert raw_item(doc, "a")[s.TRACK] == {"title": "Song", "artist": "Band", "tags": ["x"]}
    assert project(doc).get("a").track == {"title": "Song", "artist": "Band", "tags": ["x"]}


def test_appends_grouped_in_one_caller_transaction_see_each_other_and_make_one_update() -> None:
    doc = Doc()
    add(doc, "first")
    updates, _subscription = updates_of(doc)
    with doc.transaction():
        add(doc, "a")
        add(doc, "b")
        add(doc, "c")
    assert [position(doc, i) for i in ("a", "b", "c")] == [2.0, 3.0, 4.0]
    assert len(updates) == 1


# --- move -------------------------------------------------------------------------------------


def test_moving_an_item_sets_its_position() -> None:
    doc = Doc()
    for item_id in "abc":
        add(doc, item_id)
    move_item(doc, "c", 0.5)
    assert position(doc, "c") == 0.5
    assert [item.id for item in project(doc).items] == ["c", "a", "b"]


def test_moving_between_two_items_uses_their_midpoint() -> None:
    doc = Doc()
    for item_id in "abc":
        add(doc, item_id)
    move_item(doc, "a", (position(doc, "b") + position(doc, "c")) / 2)
    assert [item.id for item in project(doc).items] == ["b", "a", "c"]


def test_moving_stores_an_integer_position_as_a_float() -> None:
    doc = Doc()
    add(doc, "a")
    move_item(doc, "a", 7)
    assert isinstance(position(doc, "a"), float)


def test_moving_touches_nothing_but_the_position() -> None:
    doc = Doc()
    add(doc, "a")
    vote(doc, "a", "w", 2)
    before = raw_item(doc, "a")
    move_item(doc, "a", 9.0)
    assert raw_item(doc, "a") == {**before, s.POSITION: 9.0}


# --- remove -----------------------------------------------------------------------------------


def test_removing_an_item_deletes_its_key() -> None:
    doc = Doc()
    add(doc, "a")
    add(doc, "b")
    remove_item(doc, "a")
    assert "a" not in s.items_map(doc)
    assert [item.id for item in project(doc).items] == ["b"]


def test_removing_the_playing_item_stops_playback() -> None:
    doc = Doc()
    add(doc, "a")
    play(doc, "a", T1)
    remove_item(doc, "a")
    assert playback(doc) == {s.NOW_PLAYING: None, s.STARTED_AT: None}
    assert project(doc).playing is None


def test_removing_the_playing_item_is_one_update() -> None:
    doc = Doc()
    add(doc, "a")
    play(doc, "a", T1)
    updates, _subscription = updates_of(doc)
    remove_item(doc, "a")
    assert len(updates) == 1


def test_removing_another_item_keeps_playback_going() -> None:
    doc = Doc()
    add(doc, "a")
    add(doc, "b")
    play(doc, "a", T1)
    remove_item(doc, "b")
    assert playback(doc) == {s.NOW_PLAYING: "a", s.STARTED_AT: T1}


# --- vote -------------------------------------------------------------------------------------


def test_voting_writes_the_running_net_total_under_the_writers_own_key() -> None:
    doc = Doc()
    add(doc, "a")
    vote(doc, "a", "server:1", 1)
    vote(doc, "a", "server:1", 1)
    vote(doc, "a", "server:1", 1)
    vote(doc, "a", "server:1", -1)
    assert raw_item(doc, "a")[s.VOTES] == {"server:1": 2.0}
    assert project(doc).get("a").votes == 2


def test_votes_have_no_floor_and_go_below_zero() -> None:
    doc = Doc()
    add(doc, "a")
    vote(doc, "a", "w", -1)
    vote(doc, "a", "w", -1)
    assert raw_item(doc, "a")[s.VOTES] == {"w": -2.0}
    assert project(doc).get("a").votes == -2


def test_two_writers_keys_sum() -> None:
    doc = Doc()
    add(doc, "a")
    vote(doc, "a", "123", 1)
    vote(doc, "a", "server:x", 1)
    vote(doc, "a", "server:x", 1)
    vote(doc, "a", "456", -1)
    assert raw_item(doc, "a")[s.VOTES] == {"123": 1.0, "server:x": 2.0, "456": -1.0}
    assert project(doc).get("a").votes == 2


def test_concurrent_votes_from_two_replicas_both_count() -> None:
    one, two = Doc(client_id=1), Doc(client_id=2)
    add(one, "a")
    sync(one, two)
    vote(one, "a", str(one.client_id), 1)
    vote(two, "a", str(two.client_id), 1)
    vote(two, "a", str(two.client_id), 1)
    sync(one, two)
    assert project(one).get("a").votes == project(two).get("a").votes == 3


def test_voting_only_writes_its_own_key() -> None:
    doc = Doc()
    add(doc, "a")
    vote(doc, "a", "other", 5)
    vote(doc, "a", "mine", 1)
    assert raw_item(doc, "a")[s.VOTES]["other"] == 5.0


def test_voting_on_an_item_whose_votes_are_not_a_map_starts_a_fresh_counter() -> None:
    doc = Doc()
    add(doc, "a")
    s.items_map(doc)["a"][s.VOTES] = "junk"
    vote(doc, "a", "w", 1)
    assert isinstance(s.items_map(doc)["a"][s.VOTES], Map)
    assert project(doc).get("a").votes == 1


def test_voting_over_a_junk_value_under_the_writers_key_starts_from_zero() -> None:
    doc = Doc()
    add(doc, "a")
    s.items_map(doc)["a"][s.VOTES]["w"] = "seven"
    vote(doc, "a", "w", 1)
    assert raw_item(doc, "a")[s.VOTES] == {"w": 1.0}


# --- play / stop ------------------------------------------------------------------------------


def test_playing_sets_now_playing_played_at_and_started_at() -> None:
    doc = Doc()
    add(doc, "a")
    play(doc, "a", T1)
    assert playback(doc) == {s.NOW_PLAYING: "a", s.STARTED_AT: T1}
    assert raw_item(doc, "a")[s.PLAYED_AT] == T1
    playlist = project(doc)
    assert playlist.playing is not None and playlist.playing.id == "a"
    assert playlist.get("a").is_playing


def test_playing_is_one_update() -> None:
    doc = Doc()
    add(doc, "a")
    updates, _subscription = updates_of(doc)
    play(doc, "a", T1)
    assert len(updates) == 1


def test_playing_another_item_replaces_the_playing_one() -> None:
    doc = Doc()
    add(doc, "a")
    add(doc, "b")
    play(doc, "a", T1)
    play(doc, "b", T2)
    assert playback(doc) == {s.NOW_PLAYING: "b", s.STARTED_AT: T2}
    assert raw_item(doc, "a")[s.PLAYED_AT] == T1
    assert [item.id for item in project(doc).items if item.is_playing] == ["b"]


def test_replaying_the_playing_item_restamps_played_at_and_started_at() -> None:
    doc = Doc()
    add(doc, "a")
    play(doc, "a", T1)
    play(doc, "a", T2)
    assert playback(doc) == {s.NOW_PLAYING: "a", s.STARTED_AT: T2}
    assert raw_item(doc, "a")[s.PLAYED_AT] == T2


def test_concurrent_plays_on_two_replicas_converge_to_one_playing_item() -> None:
    one, two = Doc(client_id=1), Doc(client_id=2)
    add(one, "a")
    add(one, "b")
    sync(one, two)
    play(one, "a", T1)
    play(two, "b", T2)
    sync(one, two)
    assert project(one) == project(two)
    assert sum(item.is_playing for item in project(one).items) == 1


def test_stop_clears_now_playing_and_started_at_but_keeps_played_at() -> None:
    doc = Doc()
    add(doc, "a")
    play(doc, "a", T1)
    stop(doc)
    assert playback(doc) == {s.NOW_PLAYING: None, s.STARTED_AT: None}
    assert raw_item(doc, "a")[s.PLAYED_AT] == T1
    assert not project(doc).get("a").is_playing


def test_stop_when_nothing_plays_writes_nothing() -> None:
    doc = Doc()
    add(doc, "a")
    updates, _subscription = updates_of(doc)
    stop(doc)
    play(doc, "a", T1)
    stop(doc)
    stop(doc)
    assert len(updates) == 2


# --- unknown ids ------------------------------------------------------------------------------

UNKNOWN_ID_WRITES = {
    "move": lambda doc, item_id: move_item(doc, item_id, 1.0),
    "remove": lambda doc, item_id: remove_item(doc, item_id),
    "vote": lambda doc, item_id: vote(doc, item_id, "w", 1),
    "play": lambda doc, item_id: play(doc, item_id, T1),
}


@pytest.mark.parametrize("write", UNKNOWN_ID_WRITES.values(), ids=UNKNOWN_ID_WRITES.keys())
def test_writes_to_an_unknown_item_raise_item_not_found_and_change_nothing(write) -> None:
    doc = Doc()
    add(doc, "a")
    before = (s.items_map(doc).to_py(), s.playback_map(doc).to_py())
    updates, _subscription = updates_of(doc)
    with pytest.raises(ItemNotFound) as raised:
        write(doc, "nope")
    assert raised.value.item_id == "nope"
    assert isinstance(raised.value, LookupError)
    assert (s.items_map(doc).to_py(), s.playback_map(doc).to_py()) == before
    assert updates == []


@pytest.mark.parametrize("write", UNKNOWN_ID_WRITES.values(), ids=UNKNOWN_ID_WRITES.keys())
def test_writes_to_a_removed_item_raise_item_not_found(write) -> None:
    doc = Doc()
    add(doc, "a")
    remove_item(doc, "a")
    with pytest.raises(ItemNotFound):
        write(doc, "a")


@pytest.mark.parametrize("write", UNKNOWN_ID_WRITES.values(), ids=UNKNOWN_ID_WRITES.keys())
def test_an_item_value_that_is_not_a_map_counts_as_not_found(write) -> None:
    doc = Doc()
    s.items_map(doc)["junk"] = {"track_id": 1, "position": 1.0}
    with pytest.raises(ItemNotFound):
        write(doc, "junk")
