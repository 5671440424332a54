"""The ``settings`` map's auto-sort (CONTRACT §5): the order, the events, the repairs."""

from __future__ import annotations

from pycrdt import Doc

from crdt import operations as op
from crdt import schema as s
from crdt.diff import PLAYLIST_UPDATED, TRACK_VOTED, diff
from crdt.projection import project, reproject
from crdt.repairs import needs_repair, repair

WHEN = "2024-05-01T12:00:00Z"


def playlist_of(*votes: int) -> Doc:
    """Items a, b, c… at positions 1, 2, 3… with these vote totals."""
    doc = Doc()
    for index, total in enumerate(votes):
        item_id = "abcdefgh"[index]
        op.add_item(doc, item_id=item_id, track_id=index + 1, added_by="x", added_at=WHEN)
        if total:
            op.vote(doc, item_id, "w", total)
    return doc


def ids(doc: Doc, default: bool = False) -> list[str]:
    return [item.id for item in project(doc, default).items]


def test_off_orders_by_position_and_on_by_votes_then_position_then_id() -> None:
    doc = playlist_of(0, 2, 0, 5)
    assert ids(doc) == ["a", "b", "c", "d"]
    op.set_auto_sort(doc, True)
    assert ids(doc) == ["d", "b", "a", "c"]
    assert project(doc).auto_sort is True


def test_the_default_applies_only_where_the_document_says_nothing() -> None:
    doc = playlist_of(0, 1)
    assert ids(doc, default=True) == ["b", "a"]
    op.set_auto_sort(doc, False)
    assert ids(doc, default=True) == ["a", "b"]
    op.ensure_settings(doc, True)  # an explicit mode is kept
    assert s.settings_map(doc)[s.AUTO_SORT_BY_VOTES] is False


def test_a_change_of_mode_is_one_playlist_updated_and_reproject_follows_it() -> None:
    doc = playlist_of(0, 3)
    before = project(doc)
    op.set_auto_sort(doc, True)
    after = reproject(doc, before, set())  # no item touched: only the settings map
    assert [i.id for i in after.items] == ["b", "a"]
    changes = diff(before, after, set())
    assert [c.type for c in changes] == [PLAYLIST_UPDATED]
    assert changes[0].items == after.items


def test_with_auto_sort_a_vote_that_reorders_is_a_vote_event_and_the_order_follows() -> None:
    doc = playlist_of(0, 1)
    op.set_auto_sort(doc, True)
    before = project(doc)
    op.vote(doc, "a", "w", 2)
    after = reproject(doc, before, {"a"})
    assert [i.id for i in after.items] == ["a", "b"] == ids(doc)
    assert [c.type for c in diff(before, after, {"a"})] == [TRACK_VOTED]


def test_appends_go_after_the_last_position_whatever_the_order() -> None:
    doc = playlist_of(5, 0)
    op.set_auto_sort(doc, True)
    assert project(doc).next_position() == 3.0


def test_repairs_read_positions_in_position_order_under_auto_sort() -> None:
    doc = playlist_of(0, 0, 9)  # voted order c, a, b: positions 3, 1, 2
    op.set_auto_sort(doc, True)
    assert not needs_repair(project(doc))
    op.move_item(doc, "b", 1.0)  # a and b share a position: a respread is due
    assert needs_repair(project(doc))
    repair(doc, WHEN)
    positions = {item.id: item.position for item in project(doc).items}
    assert positions == {"a": 1.0, "b": 2.0, "c": 3.0}
