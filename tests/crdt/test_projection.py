"""Unit and property tests for crdt.projection: the read model of a playlist document."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text

from crdt import operations as op
from crdt import schema as s
from crdt.diff import diff
from crdt.projection import (
    HISTORY_LIMIT,
    Item,
    Playlist,
    project,
    reproject,
    touched_item_ids,
    vote_total,
)

T0 = "2024-05-01T12:00:00Z"


def add(doc: Doc, item_id: str, track_id: int = 1, position: float | None = None, **kw) -> None:
    op.add_item(
        doc,
        item_id=item_id,
        track_id=track_id,
        added_by=kw.pop("added_by", "alice"),
        added_at=kw.pop("added_at", T0),
        position=position,
        **kw,
    )


def raw_item(doc: Doc, item_id: str, **fields: Any) -> None:
    """Writes an item map with exactly ``fields``, the way a careless peer might."""
    s.items_map(doc)[item_id] = Map(fields)


def ids(playlist: Playlist) -> list[str]:
    return [item.id for item in playlist.items]


# --- ordering, votes, playing -----------------------------------------------------------------


def test_items_are_ordered_by_position() -> None:
    doc = Doc()
    add(doc, "a", position=3.0)
    add(doc, "b", position=-1.0)
    add(doc, "c", position=2.5)
    assert ids(project(doc)) == ["b", "c", "a"]


def test_items_at_the_same_position_are_ordered_by_id() -> None:
    doc = Doc()
    add(doc, "m", position=1.0)
    add(doc, "b", position=1.0)
    add(doc, "z", position=0.5)
    add(doc, "a", position=1.0)
    assert ids(project(doc)) == ["z", "a", "b", "m"]


def test_an_empty_document_projects_to_an_empty_playlist() -> None:
    playlist = project(Doc())
    assert playlist == Playlist()
    assert playlist.playing is None
    assert playlist.history() == []
    assert playlist.next_position() == 1.0


def test_next_position_is_one_after_the_last_item() -> None:
    doc = Doc()
    add(doc, "a", position=4.0)
    add(doc, "b", position=-2.0)
    assert project(doc).next_position() == 5.0


def test_votes_are_the_int_sum_of_all_writer_keys() -> None:
    doc = Doc()
    add(doc, "a")
    op.vote(doc, "a", "1", 3)
    op.vote(doc, "a", "2", -1)
    op.vote(doc, "a", "server:x", 1)
    votes = project(doc).get("a").votes
    assert votes == 3
    assert type(votes) is int


def test_an_item_without_votes_has_zero() -> None:
    doc = Doc()
    add(doc, "a")
    assert project(doc).get("a").votes == 0


def test_only_the_item_named_by_now_playing_is_playing() -> None:
    doc = Doc()
    add(doc, "a")
    add(doc, "b")
    op.play(doc, "b", T0)
    playlist = project(doc)
    assert [item.is_playing for item in playlist.items] == [False, True]
    assert playlist.now_playing == "b"
    assert playlist.playing == playlist.get("b")


def test_numbers_that_are_integers_come_back_as_ints() -> None:
    doc = Doc()
    s.items_map(doc)["a"] = Map(
        {
            s.TRACK_ID: 7.0,
            s.POSITION: 2.0,
            s.VOTES: Map({"x": 2.0, "y": 1}),
        }
    )
    # a copy that went through the wire, as a remote peer would send it
    remote = Doc()
    remote.apply_update(doc.get_update())
    for playlist in (project(doc), project(remote)):
        item = playlist.get("a")
        assert item.track_id == 7 and type(item.track_id) is int
        assert item.votes == 3 and type(item.votes) is int
        assert item.position == 2.0


def test_a_track_id_written_as_a_big_int_is_read() -> None:
    doc = Doc()
    raw_item(doc, "a", track_id=2**60, position=1.0)
    assert project(doc).get("a").track_id == 2**60


def test_fractional_vote_values_round_to_the_nearest_int() -> None:
    doc = Doc()
    raw_item(doc, "a", track_id=1, position=1.0, votes=Map({"x": 1.25, "y": 1.5}))
    assert project(doc).get("a").votes == 3


def test_the_item_reads_added_by_added_at_played_at_and_track() -> None:
    doc = Doc()
    add(doc, "a", track_id=9, added_by="bob", added_at=T0, track={"title": "T"})
    op.play(doc, "a", "2024-05-02T00:00:00Z")
    assert project(doc).get("a") == Item(
        id="a",
        track_id=9,
        position=1.0,
        votes=0,
        added_by="bob",
        added_at=T0,
        played_at="2024-05-02T00:00:00Z",
        is_playing=True,
        track={"title": "T"},
    )


# --- history ----------------------------------------------------------------------------------


def test_history_lists_played_items_most_recently_played_first() -> None:
    doc = Doc()
    for item_id in "abcd":
        add(doc, item_id)
    op.play(doc, "c", "2024-05-01T10:00:00Z")
    op.play(doc, "a", "2024-05-01T11:00:00Z")
    op.play(doc, "d", "2024-05-01T09:00:00Z")
    op.stop(doc)
    assert [item.id for item in project(doc).history()] == ["a", "c", "d"]


def test_history_holds_at_most_twenty_items() -> None:
    doc = Doc()
    for n in range(30):
        add(doc, f"i{n:02}")
        op.play(doc, f"i{n:02}", f"2024-05-01T12:{n:02}:00Z")
    history = project(doc).history()
    assert HISTORY_LIMIT == 20
    assert len(history) == 20
    assert [item.id for item in history] == [f"i{n:02}" for n in range(29, 9, -1)]


def test_history_skips_items_never_played_or_with_an_empty_played_at() -> None:
    doc = Doc()
    add(doc, "a")
    add(doc, "b")
    raw_item(doc, "c", track_id=3, position=3.0, played_at="")
    op.play(doc, "b", T0)
    assert [item.id for item in project(doc).history()] == ["b"]
    assert project(doc).get("c").played_at is None


# --- malformed documents ----------------------------------------------------------------------


def _not_a_map(doc: Doc) -> None:
    s.items_map(doc)["bad"] = {"track_id": 1, "position": 1.0}


def _a_string(doc: Doc) -> None:
    s.items_map(doc)["bad"] = "item"


def _a_number(doc: Doc) -> None:
    s.items_map(doc)["bad"] = 5


def _none(doc: Doc) -> None:
    s.items_map(doc)["bad"] = None


def _an_array(doc: Doc) -> None:
    s.items_map(doc)["bad"] = Array([1, 2])


def _a_text(doc: Doc) -> None:
    s.items_map(doc)["bad"] = Text("hello")


def _fields(**fields: Any):
    def write(doc: Doc) -> None:
        raw_item(doc, "bad", **fields)

    return write


UNREADABLE_ITEMS = {
    "a plain dict": _not_a_map,
    "a string": _a_string,
    "a number": _a_number,
    "null": _none,
    "an array": _an_array,
    "a text": _a_text,
    "an empty map": _fields(),
    "missing track_id": _fields(position=1.0),
    "str track_id": _fields(track_id="1", position=1.0),
    "bool track_id": _fields(track_id=True, position=1.0),
    "nan track_id": _fields(track_id=math.nan, position=1.0),
    "inf track_id": _fields(track_id=math.inf, position=1.0),
    "fractional track_id": _fields(track_id=1.5, position=1.0),
    "map track_id": _fields(track_id=Map({"a": 1}), position=1.0),
    "missing position": _fields(track_id=1),
    "str position": _fields(track_id=1, position="1"),
    "bool position": _fields(track_id=1, position=False),
    "nan position": _fields(track_id=1, position=math.nan),
    "inf position": _fields(track_id=1, position=math.inf),
    "-inf position": _fields(track_id=1, position=-math.inf),
    "null position": _fields(track_id=1, position=None),
    "list position": _fields(track_id=1, position=[1.0]),
}


@pytest.mark.parametrize("write", UNREADABLE_ITEMS.values(), ids=UNREADABLE_ITEMS.keys())
def test_an_unreadable_item_is_skipped_without_raising(write) -> None:
    doc = Doc()
    add(doc, "good")
    write(doc)
    assert ids(project(doc)) == ["good"]
    remote = Doc()
    remote.apply_update(doc.get_update())
    assert ids(project(remote)) == ["good"]


JUNK_VOTES = {
    "a string": "lots",
    "a number": 5,
    "a list": [1, 2, 3],
    "a dict": {"x": 1},
    "an array": Array([1.0]),
    "null": None,
}


@pytest.mark.parametrize("votes", JUNK_VOTES.values(), ids=JUNK_VOTES.keys())
def test_votes_that_are_not_a_map_count_as_zero(votes) -> None:
    doc = Doc()
    raw_item(doc, "a", track_id=1, position=1.0, votes=votes)
    assert project(doc).get("a").votes == 0


def test_vote_entries_that_are_not_finite_numbers_count_as_zero() -> None:
    doc = Doc()
    junk = Map(
        {
            "ok": 2,
            "str": "10",
            "bool": True,
            "null": None,
            "nan": math.nan,
            "inf": math.inf,
            "list": [1],
            "map": Map({"x": 5}),
        }
    )
    raw_item(doc, "a", track_id=1, position=1.0, votes=junk)
    assert project(doc).get("a").votes == 2


def test_vote_totals_that_overflow_a_float_do_not_raise() -> None:
    doc = Doc()
    votes = Map({"x": 1.7e308, "y": 1.7e308})
    raw_item(doc, "a", track_id=1, position=1.0, votes=votes)
    assert isinstance(project(doc).get("a").votes, int)
    assert isinstance(vote_total(votes), int)


def test_odd_optional_fields_fall_back_to_defaults() -> None:
    doc = Doc()
    raw_item(
        doc,
        "a",
        track_id=1,
        position=1.0,
        added_by=5,
        added_at=None,
        played_at=7,
        track="not a dict",
    )
    item = project(doc).get("a")
    assert item.added_by == s.DEFAULT_ADDED_BY
    assert item.added_at == ""
    assert item.played_at is None
    assert item.track is None


def test_now_playing_naming_no_item_plays_nothing() -> None:
    doc = Doc()
    add(doc, "a")
    s.playback_map(doc)[s.NOW_PLAYING] = "gone"
    playlist = project(doc)
    assert playlist.now_playing == "gone"
    assert playlist.playing is None
    assert not any(item.is_playing for item in playlist.items)


def test_now_playing_naming_an_unreadable_item_plays_nothing() -> None:
    doc = Doc()
    add(doc, "a")
    raw_item(doc, "bad", track_id="x", position=1.0)
    s.playback_map(doc)[s.NOW_PLAYING] = "bad"
    assert project(doc).playing is None


PLAYBACK_JUNK = {
    "a number": 3,
    "a bool": True,
    "a list": ["a"],
    "a dict": {"id": "a"},
    "a map": Map({"id": "a"}),
    "an array": Array(["a"]),
    "a text": Text("a"),
}


@pytest.mark.parametrize("junk", PLAYBACK_JUNK.values(), ids=PLAYBACK_JUNK.keys())
def test_junk_in_playback_reads_as_nothing_playing(junk) -> None:
    doc = Doc()
    add(doc, "a")
    playback = s.playback_map(doc)
    playback[s.NOW_PLAYING] = junk
    playback[s.STARTED_AT] = Map({"x": 1})
    playback["extra"] = Array([1, 2])
    playlist = project(doc)
    assert playlist.now_playing is None
    assert playlist.playing is None
    assert ids(playlist) == ["a"]


def test_unknown_root_types_and_wrongly_typed_roots_do_not_break_the_projection() -> None:
    peer = Doc()
    peer.get("items", type=Array).append(1)
    peer.get("playback", type=Text).insert(0, "junk")
    peer.get("other", type=Map)["x"] = 1
    doc = Doc()
    doc.apply_update(peer.get_update())
    assert project(doc) == Playlist()


# --- reproject --------------------------------------------------------------------------------

ITEM_IDS = [f"item-{n}" for n in range(6)]
FIELDS = [s.TRACK_ID, s.POSITION, s.ADDED_BY, s.ADDED_AT, s.PLAYED_AT, s.VOTES, s.TRACK, "x"]


@st.composite
def writes(draw) -> list[tuple]:
    """One transaction's worth of writes, valid or malformed."""
    item_id = st.sampled_from(ITEM_IDS)
    finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
    junk = st.one_of(st.none(), st.booleans(), st.text(max_size=3), st.floats(), finite)
    write = st.one_of(
        st.tuples(st.just("add"), item_id, st.integers(1, 4), st.none() | finite),
        st.tuples(st.just("move"), item_id, finite),
        st.tuples(st.just("remove"), item_id),
        st.tuples(
            st.just("vote"), item_id, st.sampled_from(["w1", "w2"]), st.sampled_from([1, -1])
        ),
        st.tuples(st.just("play"), item_id, st.sampled_from(["t1", "t2", "t3"])),
        st.tuples(st.just("stop")),
        st.tuples(st.just("junk-field"), item_id, st.sampled_from(FIELDS), junk),
        st.tuples(st.just("junk-item"), item_id, junk),
        st.tuples(st.just("junk-playing"), st.one_of(item_id, junk)),
        st.tuples(st.just("junk-votes"), item_id, junk),
        st.tuples(st.just("remote"), item_id, st.integers(1, 4)),
    )
    return draw(st.lists(write, min_size=1, max_size=4))


def _apply(doc: Doc, write: tuple) -> None:
    kind, *args = write
    items = s.items_map(doc)
    try:
        match kind:
            case "add":
                item_id, track_id, position = args
                add(doc, item_id, track_id=track_id, position=position)
            case "move":
                op.move_item(doc, *args)
            case "remove":
                op.remove_item(doc, *args)
            case "vote":
                op.vote(doc, *args)
            case "play":
                op.play(doc, *args)
            case "stop":
                op.stop(doc)
            case "junk-field":
                item_id, field, value = args
                if isinstance(items.get(item_id), Map):
                    items[item_id][field] = value
            case "junk-item":
                item_id, value = args
                items[item_id] = value
            case "junk-playing":
                s.playback_map(doc)[s.NOW_PLAYING] = args[0]
            case "junk-votes":
                item_id, value = args
                if isinstance(items.get(item_id), Map):
                    items[item_id][s.VOTES] = Map({"k": value})
    except op.ItemNotFound:
        pass


@given(st.lists(writes(), min_size=1, max_size=12))
@settings(max_examples=120, deadline=None)
def test_reprojecting_and_diffing_the_touched_items_equals_doing_it_all(transactions) -> None:
    doc = Doc(client_id=1)
    remote = Doc(client_id=2)
    touched: list[set[str] | None] = []
    subscription = s.items_map(doc).observe_deep(
        lambda events: touched.append(touched_item_ids(events))
    )
    playlist = project(doc)
    for transaction in transactions:
        touched.clear()
        remote_writes = [w for w in transaction if w[0] == "remote"]
        local_writes = [w for w in transaction if w[0] != "remote"]
        with doc.transaction():
            for write in local_writes:
                _apply(doc, write)
        for _, item_id, track_id in remote_writes:
            remote.apply_update(doc.get_update(remote.get_state()))
            add(remote, item_id, track_id=track_id)
            op.vote(remote, item_id, "remote", 1)
            doc.apply_update(remote.get_update(doc.get_state()))
        for ids_touched in touched:
            before = playlist
            playlist = reproject(doc, playlist, ids_touched)
            # The events of the touched items are the events of the whole playlist.
            assert diff(before, playlist, ids_touched) == diff(before, playlist)
        # playback-only transactions fire no item events: the caller still re-reads playback
        before = playlist
        playlist = reproject(doc, playlist, set())
        assert diff(before, playlist, set()) == diff(before, playlist)
        assert playlist == project(doc)
        assert playlist.index == {item.id: place for place, item in enumerate(playlist.items)}
    del subscription


def test_touched_item_ids_names_the_items_of_each_kind_of_change() -> None:
    doc = Doc()
    seen: list[set[str] | None] = []
    subscription = s.items_map(doc).observe_deep(
        lambda events: seen.append(touched_item_ids(events))
    )
    add(doc, "a")
    add(doc, "b")
    op.vote(doc, "a", "w", 1)
    op.move_item(doc, "b", 0.0)
    op.play(doc, "b", T0)
    op.stop(doc)
    with doc.transaction():
        op.remove_item(doc, "a")
        op.vote(doc, "b", "w", 1)
    assert seen == [{"a"}, {"b"}, {"a"}, {"b"}, {"b"}, {"a", "b"}]
    del subscription


def test_reproject_with_no_touched_ids_known_reads_everything() -> None:
    doc = Doc()
    add(doc, "a")
    stale = Playlist()
    assert reproject(doc, stale, None) == project(doc)


def test_touched_item_ids_gives_up_on_events_it_cannot_attribute() -> None:
    class Opaque:
        path = None

    assert touched_item_ids([Opaque()]) is None
