"""Unit tests for crdt.diff: from two projections to the legacy event stream's changes."""

from __future__ import annotations

from pycrdt import Doc

from crdt import operations as op
from crdt.diff import (
    BURST_ITEMS,
    PLAYLIST_UPDATED,
    TRACK_ADDED,
    TRACK_MOVED,
    TRACK_PLAYING,
    TRACK_REMOVED,
    TRACK_VOTED,
    Change,
    diff,
    snapshot,
)
from crdt.projection import project
from crdt.repairs import repair

T1 = "2024-05-01T12:00:00Z"
T2 = "2024-05-01T12:05:00Z"


def add(doc: Doc, item_id: str, track_id: int = 1, position: float | None = None) -> None:
    op.add_item(
        doc,
        item_id=item_id,
        track_id=track_id,
        added_by="alice",
        added_at=T1,
        position=position,
    )


def changes_of(doc: Doc, write) -> list[Change]:
    before = project(doc)
    write()
    return diff(before, project(doc))


def kinds(changes: list[Change]) -> list[tuple[str, str | None]]:
    return [(change.type, change.item_id) for change in changes]


def playlist_doc(*item_ids: str) -> Doc:
    doc = Doc()
    for n, item_id in enumerate(item_ids):
        add(doc, item_id, track_id=n)
    return doc


def test_no_change_gives_no_events() -> None:
    doc = playlist_doc("a", "b")
    op.play(doc, "a", T1)
    assert diff(project(doc), project(doc)) == []
    assert changes_of(doc, lambda: op.stop(Doc())) == []


def test_adding_an_item_gives_track_added_with_the_item() -> None:
    doc = playlist_doc("a")
    changes = changes_of(doc, lambda: add(doc, "b", track_id=5))
    assert changes == [Change(TRACK_ADDED, item_id="b", item=project(doc).get("b"))]
    assert changes[0].item.track_id == 5


def test_removing_an_item_gives_track_removed_with_only_its_id() -> None:
    doc = playlist_doc("a", "b")
    changes = changes_of(doc, lambda: op.remove_item(doc, "a"))
    assert changes == [Change(TRACK_REMOVED, item_id="a")]
    assert changes[0].item is None


def test_moving_an_item_gives_track_moved_with_the_new_position() -> None:
    doc = playlist_doc("a", "b")
    changes = changes_of(doc, lambda: op.move_item(doc, "b", 0.5))
    assert changes == [Change(TRACK_MOVED, item_id="b", item=project(doc).get("b"))]
    assert changes[0].item.position == 0.5


def test_voting_gives_track_voted_with_the_new_total() -> None:
    doc = playlist_doc("a", "b")
    op.vote(doc, "a", "w", 1)
    changes = changes_of(doc, lambda: op.vote(doc, "a", "x", 2))
    assert changes == [Change(TRACK_VOTED, item_id="a", item=project(doc).get("a"))]
    assert changes[0].item.votes == 3


def test_a_vote_that_changes_no_total_gives_no_event() -> None:
    doc = playlist_doc("a")
    op.vote(doc, "a", "w", 1)

    def up_and_down() -> None:
        with doc.transaction():
            op.vote(doc, "a", "w", 1)
            op.vote(doc, "a", "x", -1)

    assert changes_of(doc, up_and_down) == []


def test_playing_gives_track_playing_with_the_item() -> None:
    doc = playlist_doc("a", "b")
    changes = changes_of(doc, lambda: op.play(doc, "b", T1))
    assert changes == [Change(TRACK_PLAYING, item_id="b", item=project(doc).get("b"))]
    assert changes[0].item.is_playing
    assert changes[0].item.played_at == T1


def test_playing_another_item_gives_one_track_playing_for_the_new_item() -> None:
    doc = playlist_doc("a", "b")
    op.play(doc, "a", T1)
    changes = changes_of(doc, lambda: op.play(doc, "b", T2))
    assert kinds(changes) == [(TRACK_PLAYING, "b")]
    assert changes[0].item.is_playing


def test_replaying_the_same_item_gives_track_playing_again() -> None:
    doc = playlist_doc("a")
    op.play(doc, "a", T1)
    changes = changes_of(doc, lambda: op.play(doc, "a", T2))
    assert changes == [Change(TRACK_PLAYING, item_id="a", item=project(doc).get("a"))]
    assert changes[0].item.played_at == T2


def test_stopping_gives_track_playing_with_no_item() -> None:
    doc = playlist_doc("a")
    op.play(doc, "a", T1)
    changes = changes_of(doc, lambda: op.stop(doc))
    assert changes == [Change(TRACK_PLAYING, item_id="a", item=None)]


def test_removing_the_playing_item_gives_removed_then_stop() -> None:
    doc = playlist_doc("a", "b")
    op.play(doc, "a", T1)
    changes = changes_of(doc, lambda: op.remove_item(doc, "a"))
    assert changes == [Change(TRACK_REMOVED, item_id="a"), Change(TRACK_PLAYING, item_id="a")]


def test_events_of_one_change_come_removed_added_moved_voted_playing() -> None:
    doc = playlist_doc("a", "b", "c")

    def several() -> None:
        with doc.transaction():
            op.play(doc, "b", T1)
            op.vote(doc, "b", "w", 1)
            op.move_item(doc, "c", 0.0)
            add(doc, "d", track_id=9)

    changes = changes_of(doc, several)
    assert kinds(changes) == [
        (TRACK_ADDED, "d"),
        (TRACK_MOVED, "c"),
        (TRACK_VOTED, "b"),
        (TRACK_PLAYING, "b"),
    ]

    def others() -> None:
        with doc.transaction():
            op.vote(doc, "c", "w", -1)
            op.remove_item(doc, "a")

    assert kinds(changes_of(doc, others)) == [(TRACK_REMOVED, "a"), (TRACK_VOTED, "c")]


def test_a_moved_and_voted_item_gives_both_events() -> None:
    doc = playlist_doc("a", "b")

    def both() -> None:
        with doc.transaction():
            op.move_item(doc, "a", 9.0)
            op.vote(doc, "a", "w", 1)

    assert kinds(changes_of(doc, both)) == [(TRACK_MOVED, "a"), (TRACK_VOTED, "a")]


def test_exactly_burst_items_touched_still_gives_single_events() -> None:
    doc = playlist_doc(*(f"i{n}" for n in range(BURST_ITEMS + 2)))

    def touch_some() -> None:
        with doc.transaction():
            for n in range(BURST_ITEMS):
                op.vote(doc, f"i{n}", "w", 1)

    changes = changes_of(doc, touch_some)
    assert [change.type for change in changes] == [TRACK_VOTED] * BURST_ITEMS


def test_more_than_burst_items_touched_gives_one_playlist_updated_with_all_items_in_order() -> None:
    doc = playlist_doc(*(f"i{n}" for n in range(BURST_ITEMS + 3)))

    def reverse() -> None:
        with doc.transaction():
            for n in range(BURST_ITEMS + 1):
                op.move_item(doc, f"i{n}", -float(n))
            op.play(doc, "i0", T1)

    changes = changes_of(doc, reverse)
    after = project(doc)
    assert changes == [Change(PLAYLIST_UPDATED, items=after.items)]
    assert BURST_ITEMS == 3
    assert [item.id for item in changes[0].items] == ["i3", "i2", "i1", "i0", "i4", "i5"]
    assert [item.is_playing for item in changes[0].items] == [False] * 3 + [True] + [False] * 2


def test_a_burst_of_adds_and_removes_from_a_merge_gives_one_playlist_updated() -> None:
    doc = playlist_doc("a", "b", "c")
    offline = Doc()
    offline.apply_update(doc.get_update())
    op.remove_item(offline, "a")
    op.remove_item(offline, "b")
    add(offline, "x", track_id=10)
    add(offline, "y", track_id=11)
    changes = changes_of(doc, lambda: doc.apply_update(offline.get_update()))
    assert len(changes) == 1
    assert changes[0].type == PLAYLIST_UPDATED
    assert [item.id for item in changes[0].items] == ["c", "x", "y"]


def test_a_respread_repair_gives_one_playlist_updated() -> None:
    doc = Doc()
    for n in range(BURST_ITEMS + 2):
        add(doc, f"i{n}", track_id=n, position=5.0)
    changes = changes_of(doc, lambda: repair(doc, T1))
    assert changes == [Change(PLAYLIST_UPDATED, items=project(doc).items)]
    assert [item.position for item in changes[0].items] == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_a_snapshot_is_one_playlist_updated_with_every_item() -> None:
    doc = playlist_doc("b", "a")
    assert snapshot(project(doc)) == Change(PLAYLIST_UPDATED, items=project(doc).items)
