"""Unit tests for crdt.repairs: what the server fixes after a merge (CONTRACT §5)."""

from __future__ import annotations

import math

import pytest
from pycrdt import Doc, Map

from crdt import operations as op
from crdt import schema as s
from crdt.projection import project
from crdt.repairs import Repair, positions_exhausted, repair

NOW = "2024-05-01T13:00:00Z"


def add(doc: Doc, item_id: str, track_id: int, added_at: str = "2024-05-01T12:00:00Z", **kw):
    op.add_item(doc, item_id=item_id, track_id=track_id, added_by="alice", added_at=added_at, **kw)


def updates_of(doc: Doc) -> tuple[list[bytes], object]:
    updates: list[bytes] = []
    return updates, doc.observe(lambda event: updates.append(event.update))


def replica_of(doc: Doc, client_id: int) -> Doc:
    copy = Doc(client_id=client_id)
    copy.apply_update(doc.get_update())
    return copy


def merge(*docs: Doc) -> None:
    for source in docs:
        update = source.get_update()
        for target in docs:
            if target is not source:
                target.apply_update(update)


def vote_keys(doc: Doc, item_id: str) -> dict:
    return s.items_map(doc)[item_id][s.VOTES].to_py()


def duplicated_state() -> Doc:
    """Three replicas each added track 7 while apart, with votes; merged into one doc."""
    one, two, three = Doc(client_id=1), Doc(client_id=2), Doc(client_id=3)
    add(one, "x1", 7, added_at="2024-05-01T12:02:00Z")
    op.vote(one, "x1", "1", 2)
    add(two, "x2", 7, added_at="2024-05-01T12:01:00Z")
    op.vote(two, "x2", "2", 1)
    add(three, "x3", 7, added_at="2024-05-01T12:03:00Z")
    op.vote(three, "x3", "3", 3)
    op.vote(three, "x3", "server:s", -1)
    add(three, "other", 8)
    merge(one, two, three)
    return one


# --- duplicate tracks -------------------------------------------------------------------------


def test_a_duplicate_track_keeps_the_earliest_added_item_and_deletes_the_others() -> None:
    doc = duplicated_state()
    done = repair(doc, NOW)
    assert sorted(item.id for item in project(doc).items) == ["other", "x2"]
    assert sorted((r.kind, r.item_id) for r in done) == [("duplicate", "x1"), ("duplicate", "x3")]
    assert all(r.detail == "merged into x2" for r in done)


def test_the_deleted_duplicates_votes_are_carried_under_merged_keys() -> None:
    doc = duplicated_state()
    repair(doc, NOW)
    assert vote_keys(doc, "x2") == {"2": 1.0, "merged:x1": 2.0, "merged:x3": 2.0}
    assert project(doc).get("x2").votes == 1 + 2 + 2


def test_a_duplicate_added_at_the_same_time_is_decided_by_the_smaller_id() -> None:
    doc = Doc()
    add(doc, "b", 7, added_at="2024-05-01T12:00:00Z")
    add(doc, "a", 7, added_at="2024-05-01T12:00:00Z")
    add(doc, "c", 7, added_at="2024-05-01T12:00:00Z")
    repair(doc, NOW)
    assert [item.id for item in project(doc).items] == ["a"]


def test_the_earliest_added_at_wins_over_a_smaller_id() -> None:
    doc = Doc()
    add(doc, "a", 7, added_at="2024-05-01T12:00:01Z")
    add(doc, "b", 7, added_at="2024-05-01T12:00:00Z")
    repair(doc, NOW)
    assert [item.id for item in project(doc).items] == ["b"]


def test_a_duplicate_without_votes_writes_no_merged_key() -> None:
    doc = Doc()
    add(doc, "a", 7, added_at="1")
    add(doc, "b", 7, added_at="2")
    op.vote(doc, "b", "w", 1)
    op.vote(doc, "b", "w", -1)
    repair(doc, NOW)
    assert vote_keys(doc, "a") == {}


def test_a_duplicate_with_negative_votes_carries_them_over() -> None:
    doc = Doc()
    add(doc, "a", 7, added_at="1")
    add(doc, "b", 7, added_at="2")
    op.vote(doc, "a", "w", 1)
    op.vote(doc, "b", "w", -3)
    repair(doc, NOW)
    assert vote_keys(doc, "a") == {"w": 1.0, "merged:b": -3.0}
    assert project(doc).get("a").votes == -2


def test_merged_vote_values_are_stored_as_plain_numbers() -> None:
    doc = Doc()
    add(doc, "a", 7, added_at="1")
    add(doc, "b", 7, added_at="2")
    s.items_map(doc)["b"][s.VOTES]["w"] = 2.0**60
    repair(doc, NOW)
    # an int this large would be stored as a BigInt, which Yjs peers cannot add to numbers
    assert type(s.items_map(doc)["a"][s.VOTES]["merged:b"]) is float


def test_a_huge_duplicate_vote_total_does_not_break_the_repair() -> None:
    doc = Doc()
    add(doc, "a", 7, added_at="1")
    add(doc, "b", 7, added_at="2")
    s.items_map(doc)["b"][s.VOTES]["w"] = 1e300
    repair(doc, NOW)
    assert project(doc).get("a").votes == round(1e300)


def test_a_duplicate_kept_item_with_junk_votes_gets_a_fresh_counter() -> None:
    doc = Doc()
    add(doc, "a", 7, added_at="1")
    add(doc, "b", 7, added_at="2")
    s.items_map(doc)["a"][s.VOTES] = "junk"
    op.vote(doc, "b", "w", 2)
    repair(doc, NOW)
    assert vote_keys(doc, "a") == {"merged:b": 2.0}


def test_a_playing_duplicate_hands_playback_to_the_kept_item() -> None:
    doc = Doc()
    add(doc, "a", 7, added_at="1")
    add(doc, "b", 7, added_at="2")
    op.play(doc, "b", "2024-05-01T12:30:00Z")
    repair(doc, NOW)
    playlist = project(doc)
    assert playlist.playing is not None and playlist.playing.id == "a"
    assert playlist.playing.played_at == "2024-05-01T12:30:00Z"


def test_repairing_the_same_merge_on_two_replicas_does_not_double_count_votes() -> None:
    merged = duplicated_state()
    server_a, server_b = replica_of(merged, 101), replica_of(merged, 102)
    assert repair(server_a, NOW) == repair(server_b, NOW)
    merge(server_a, server_b)
    for doc in (server_a, server_b):
        assert project(doc).get("x2").votes == 5
        assert vote_keys(doc, "x2") == {"2": 1.0, "merged:x1": 2.0, "merged:x3": 2.0}
    assert project(server_a) == project(server_b)


def test_two_servers_repairing_then_a_third_replica_merging_both_still_counts_once() -> None:
    merged = duplicated_state()
    server_a, server_b, peer = (replica_of(merged, n) for n in (101, 102, 103))
    updates_a, sub_a = updates_of(server_a)
    updates_b, sub_b = updates_of(server_b)
    repair(server_a, NOW)
    repair(server_b, "2024-05-01T13:00:05Z")
    for update in [*updates_b, *updates_a, *updates_b]:
        peer.apply_update(update)
    assert project(peer).get("x2").votes == 5
    assert project(peer) == project(server_a)
    del sub_a, sub_b


# --- playback ---------------------------------------------------------------------------------


def test_now_playing_naming_a_removed_item_stops_playback() -> None:
    one, two = Doc(client_id=1), Doc(client_id=2)
    add(one, "a", 1)
    merge(one, two)
    op.play(one, "a", "2024-05-01T12:30:00Z")
    op.remove_item(two, "a")
    merge(one, two)
    assert s.playback_map(one)[s.NOW_PLAYING] == "a"
    assert repair(one, NOW) == [Repair("dangling-play", "a", "playing item is gone; stopped")]
    assert s.playback_map(one).to_py() == {s.NOW_PLAYING: None, s.STARTED_AT: None}


def test_now_playing_naming_an_unreadable_item_stops_playback() -> None:
    doc = Doc()
    s.items_map(doc)["a"] = Map({s.TRACK_ID: "x", s.POSITION: 1.0})
    s.playback_map(doc)[s.NOW_PLAYING] = "a"
    assert [r.kind for r in repair(doc, NOW)] == ["dangling-play"]
    assert s.playback_map(doc)[s.NOW_PLAYING] is None


def test_a_playing_item_without_played_at_gets_it_stamped() -> None:
    doc = Doc()
    add(doc, "a", 1)
    # a peer that set now_playing but not played_at
    s.playback_map(doc)[s.NOW_PLAYING] = "a"
    assert repair(doc, NOW) == [Repair("stamp-played", "a", "played_at was missing")]
    assert s.items_map(doc)["a"][s.PLAYED_AT] == NOW
    assert project(doc).playing.played_at == NOW


def test_a_playing_item_with_played_at_is_left_alone() -> None:
    doc = Doc()
    add(doc, "a", 1)
    op.play(doc, "a", "2024-05-01T12:30:00Z")
    assert repair(doc, NOW) == []
    assert s.items_map(doc)["a"][s.PLAYED_AT] == "2024-05-01T12:30:00Z"


# --- positions --------------------------------------------------------------------------------


def positions(doc: Doc) -> list[tuple[str, float]]:
    return [(item.id, item.position) for item in project(doc).items]


def test_tied_positions_are_respread_to_one_to_n_in_order() -> None:
    doc = Doc()
    add(doc, "c", 1, position=5.0)
    add(doc, "b", 2, position=5.0)
    add(doc, "a", 3, position=9.0)
    add(doc, "d", 4, position=-3.0)
    before = [item_id for item_id, _ in positions(doc)]
    assert before == ["d", "b", "c", "a"]
    assert repair(doc, NOW) == [Repair("respread", None, "4 items renumbered 1..n")]
    assert positions(doc) == [("d", 1.0), ("b", 2.0), ("c", 3.0), ("a", 4.0)]


def test_adjacent_floats_with_no_float_between_are_respread() -> None:
    doc = Doc()
    add(doc, "a", 1, position=1.0)
    add(doc, "b", 2, position=math.nextafter(1.0, 2))
    add(doc, "c", 3, position=7.0)
    assert [r.kind for r in repair(doc, NOW)] == ["respread"]
    assert positions(doc) == [("a", 1.0), ("b", 2.0), ("c", 3.0)]


def test_repeated_midpoint_inserts_end_in_a_respread_that_keeps_the_order() -> None:
    doc = Doc()
    add(doc, "first", 0, position=1.0)
    add(doc, "last", 1, position=2.0)
    low, high = 1.0, 2.0
    order = ["first"]
    n = 0
    while low < (low + high) / 2 < high:
        low = (low + high) / 2
        add(doc, f"m{n:02}", n + 2, position=low)
        order.append(f"m{n:02}")
        n += 1
    order.append("last")
    assert n == 52
    assert [item_id for item_id, _ in positions(doc)] == order
    assert [r.kind for r in repair(doc, NOW)] == ["respread"]
    assert positions(doc) == [(item_id, float(n)) for n, item_id in enumerate(order, start=1)]
    assert repair(doc, NOW) == []


def test_a_respread_writes_only_positions_that_change() -> None:
    doc = Doc()
    add(doc, "a", 1, position=1.0)
    add(doc, "b", 2, position=2.0)
    add(doc, "c", 3, position=2.0)
    seen = []
    subscription = s.items_map(doc).observe_deep(
        lambda events: seen.extend((tuple(e.path), tuple(e.keys)) for e in events)
    )
    repair(doc, NOW)
    assert seen == [(("c",), (s.POSITION,))]
    del subscription


@pytest.mark.parametrize(
    ("values", "exhausted"),
    [
        ([], False),
        ([1.0], False),
        ([1.0, 2.0, 3.0], False),
        ([1.0, 1.0], True),
        ([1.0, math.nextafter(1.0, 2)], True),
        ([1.0, math.nextafter(math.nextafter(1.0, 2), 2)], False),
        ([-0.0, 0.0], True),
        ([0.0, 5e-324], True),
        ([-1.7e308, 1.7e308], False),
    ],
)
def test_positions_are_exhausted_when_some_neighbours_cannot_be_split(values, exhausted) -> None:
    assert positions_exhausted(values) is exhausted


# --- healthy documents ------------------------------------------------------------------------


def test_a_healthy_document_needs_no_repair_and_gets_no_update() -> None:
    doc = Doc()
    for n, item_id in enumerate("abcde"):
        add(doc, item_id, n)
        op.vote(doc, item_id, "w", n - 2)
    op.move_item(doc, "a", 3.5)
    op.play(doc, "c", "2024-05-01T12:30:00Z")
    op.remove_item(doc, "e")
    updates, subscription = updates_of(doc)
    before = project(doc)
    assert repair(doc, NOW) == []
    assert updates == []
    assert project(doc) == before
    del subscription


def test_an_empty_document_needs_no_repair() -> None:
    doc = Doc()
    updates, subscription = updates_of(doc)
    assert repair(doc, NOW) == []
    assert updates == []
    del subscription


def test_one_repair_pass_leaves_nothing_to_repair() -> None:
    doc = duplicated_state()
    add(doc, "tie", 9, position=project(doc).items[0].position)
    s.playback_map(doc)[s.NOW_PLAYING] = "x3"
    kinds = sorted(r.kind for r in repair(doc, NOW))
    assert kinds == ["duplicate", "duplicate", "respread", "stamp-played"]
    assert project(doc).playing.id == "x2"
    assert repair(doc, NOW) == []


def test_all_repairs_of_one_pass_are_one_update() -> None:
    doc = duplicated_state()
    s.playback_map(doc)[s.NOW_PLAYING] = "gone"
    updates, subscription = updates_of(doc)
    assert len(repair(doc, NOW)) == 3
    assert len(updates) == 1
    del subscription
