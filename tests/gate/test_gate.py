"""The rules of CONTRACT §9 (server/engine/gate.py), in-process, on updates made by real
pycrdt and yjs documents: what a peer may write is applied, anything else is refused."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map, Text

from crdt import operations as op
from crdt.schema import items_map
from server.engine.gate import Gate, GateLimits, Rejected
from tests.realtime.yframes import deletions_only

from .yjs import YjsTool

ITEM = {"track_id": 1, "position": 1.0, "added_by": "x", "added_at": "t", "played_at": None}


class Served:
    """A server document with its gate, fed with every update it integrates."""

    def __init__(self, limits: GateLimits | None = None) -> None:
        self.doc = Doc()
        self.gate = Gate(limits or GateLimits(), server_client=self.doc.client_id)
        self._trusted = True
        self.doc.observe(lambda e: self.gate.integrated(e.update, trusted=self._trusted))

    def write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """A server-made change (REST, a repair)."""
        self._trusted = True
        with self.doc.transaction():
            fn(self.doc, *args, **kwargs)

    def judge(self, update: bytes) -> bool:
        return self.gate.judge(update, self.doc)

    def peer(self, update: bytes) -> bool:
        """What sync does with a peer's update: judge, then apply when complete."""
        complete = self.judge(update)
        if complete:
            self._trusted = False
            self.doc.apply_update(update)
            self._trusted = True
        return complete

    def state(self) -> bytes:
        return self.doc.get_update()


class Peer:
    """A pycrdt peer synced with a served document; ``edit`` returns its update."""

    def __init__(self, served: Served, client_id: int | None = None) -> None:
        self.doc = Doc() if client_id is None else Doc(client_id=client_id)
        self.doc.apply_update(served.state())
        self._updates: list[bytes] = []
        self.doc.observe(lambda e: self._updates.append(e.update))

    @property
    def key(self) -> str:
        return str(self.doc.client_id)

    def items(self) -> Map:
        return self.doc.get("items", type=Map)

    def edit(self, fn: Callable[[Doc], Any]) -> bytes:
        self._updates.clear()
        with self.doc.transaction():
            fn(self.doc)
        assert len(self._updates) == 1
        return self._updates[0]


def served_with_item(item_id: str = "a") -> Served:
    served = Served()
    served.write(op.add_item, item_id=item_id, track_id=1, added_by="rest", added_at="t")
    return served


def refused(served: Served, update: bytes, match: str) -> None:
    before = served.state()
    with pytest.raises(Rejected, match=match):
        served.judge(update)
    assert served.state() == before


# -- what peers do every day ------------------------------------------------------------------


def test_a_peer_adds_votes_moves_plays_and_removes():
    served = served_with_item()
    peer = Peer(served)

    def add(doc: Doc) -> None:
        doc.get("items", type=Map)["b"] = Map({**ITEM, "track_id": 2.0, "votes": Map()})

    assert served.peer(peer.edit(add))
    for delta in (1, 1, -1):
        votes = peer.items()["a"]["votes"]
        assert served.peer(
            peer.edit(
                lambda d, v=votes, x=delta: v.__setitem__(peer.key, (v.get(peer.key) or 0) + x)
            )
        )
    assert served.peer(peer.edit(lambda d: peer.items()["a"].__setitem__("position", 0.5)))
    playback = peer.doc.get("playback", type=Map)
    assert served.peer(
        peer.edit(lambda d: playback.update({"now_playing": "a", "started_at": "t"}))
    )
    assert served.peer(peer.edit(lambda d: playback.update({"now_playing": None})))
    assert served.peer(peer.edit(lambda d: peer.items().pop("a")))
    assert set(items_map(served.doc).keys()) == {"b"}


def test_history_the_document_holds_is_accepted_as_it_is():
    served = served_with_item()
    served.write(lambda doc: doc.get("items", type=Map)["a"]["votes"].update({"server:x": 3.0}))
    # The server's own structs, sent back by a peer that has them: not new, not judged.
    assert served.judge(served.state())


def test_an_update_that_builds_on_unknown_structs_waits():
    served = served_with_item()
    peer = Peer(served)
    peer.edit(lambda d: peer.items().__setitem__("b", Map({**ITEM, "votes": Map()})))
    later = peer.edit(lambda d: peer.items()["b"].__setitem__("position", 9.0))
    assert served.peer(later) is False  # its parent is in the update not sent yet
    assert "b" not in items_map(served.doc)


def test_a_deletion_of_clocks_nobody_has_yet_waits_and_deletes_nothing_later():
    """Applied, pycrdt would keep it pending and delete whatever later takes those clocks:
    the server's next REST writes, another peer's next vote."""
    served = served_with_item()
    peer = Peer(served)
    server = served.doc.client_id
    ahead = deletions_only({server: (0, 2**40), peer.doc.client_id: (0, 2**20)})
    assert served.peer(ahead) is False  # incomplete: applied nowhere
    served.write(op.add_item, item_id="b", track_id=2, added_by="rest", added_at="t")
    served.write(op.vote, "a", "server:x", 1)
    votes = peer.items()["a"]["votes"]
    assert served.peer(peer.edit(lambda d: votes.__setitem__(peer.key, 1.0)))
    assert set(items_map(served.doc).keys()) == {"a", "b"}
    assert dict(items_map(served.doc)["a"]["votes"]) == {"server:x": 1.0, peer.key: 1.0}


def test_a_deletion_within_the_update_or_the_document_is_judged_as_usual():
    served = served_with_item()
    peer = Peer(served)

    def add_and_remove(doc: Doc) -> None:
        items = doc.get("items", type=Map)
        items["b"] = Map({**ITEM, "track_id": 2.0, "votes": Map()})
        items["b"]["position"] = 2.0  # overwrites, so deletes, a struct of this update

    assert served.peer(peer.edit(add_and_remove))
    assert served.peer(peer.edit(lambda d: peer.items().pop("a")))
    assert set(items_map(served.doc).keys()) == {"b"}


# -- votes ------------------------------------------------------------------------------------


def test_a_peer_cannot_write_the_servers_vote_key():
    served = served_with_item()
    served.write(lambda doc: doc.get("items", type=Map)["a"]["votes"].update({"server:x": 3.0}))
    peer = Peer(served)
    votes = peer.items()["a"]["votes"]
    refused(served, peer.edit(lambda d: votes.__setitem__("server:x", 1e6)), "server's vote key")
    refused(served, peer.edit(lambda d: votes.__setitem__("merged:zz", 5.0)), "server's vote key")


def test_a_peer_cannot_write_another_writers_vote_key():
    served = served_with_item()
    other = Peer(served)
    votes = other.items()["a"]["votes"]
    served.peer(other.edit(lambda d: votes.__setitem__(other.key, 2.0)))
    peer = Peer(served)
    votes = peer.items()["a"]["votes"]
    refused(served, peer.edit(lambda d: votes.__setitem__(other.key, -1e6)), "another writer")


def test_a_vote_must_be_a_modest_number():
    served = served_with_item()
    peer = Peer(served)
    votes = peer.items()["a"]["votes"]
    refused(served, peer.edit(lambda d: votes.__setitem__(peer.key, 1e308)), "at most 2")
    peer = Peer(served)  # a fresh one: the refused write is not the server's to build on
    votes = peer.items()["a"]["votes"]
    refused(served, peer.edit(lambda d: votes.__setitem__(peer.key, "many")), "a vote must be")


def test_the_votes_map_cannot_be_replaced_or_deleted_alone():
    served = served_with_item()
    peer = Peer(served)
    item = peer.items()["a"]
    refused(served, peer.edit(lambda d: item.__setitem__("votes", "gone")), "must be a Y.Map")
    peer = Peer(served)
    item = peer.items()["a"]
    refused(served, peer.edit(lambda d: item.__setitem__("votes", Map())), "replaces the votes")
    peer = Peer(served)
    item = peer.items()["a"]
    refused(served, peer.edit(lambda d: item.pop("votes")), "deletes the votes")


def test_a_peer_cannot_delete_another_writers_vote():
    served = served_with_item()
    served.write(lambda doc: doc.get("items", type=Map)["a"]["votes"].update({"server:x": 3.0}))
    peer = Peer(served)
    votes = peer.items()["a"]["votes"]
    refused(served, peer.edit(lambda d: votes.pop("server:x")), "deletes the vote key")


def test_the_servers_own_client_id_is_not_for_peers():
    served = served_with_item()
    forger = Peer(served, client_id=served.doc.client_id)
    update = forger.edit(lambda d: forger.items()["a"].__setitem__("position", 3.0))
    refused(served, update, "server's own client id")


def test_server_keys_of_an_earlier_server_process_may_be_relayed():
    earlier = served_with_item()
    earlier.write(lambda doc: doc.get("items", type=Map)["a"]["votes"].update({"server:x": 1.0}))
    stored = earlier.state()
    # What the earlier process wrote last and lost in a crash; a peer still has it.
    lost: list[bytes] = []
    earlier.doc.observe(lambda e: lost.append(e.update))
    earlier.write(lambda doc: doc.get("items", type=Map)["a"]["votes"].update({"server:x": 2.0}))
    restarted = Served()
    restarted.doc.apply_update(stored)  # loaded history is trusted
    assert restarted.peer(lost[-1])
    assert restarted.doc.get("items", type=Map)["a"]["votes"]["server:x"] == 2.0


# -- types, sizes, counts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("added_by", "x" * 1025, "longer than 1024"),
        ("added_by", 5.0, "must be a string"),
        ("track_id", 1.5, "integer"),
        ("track_id", "7", "integer"),
        ("position", float("inf"), "finite"),
        ("played_at", 3.0, "string or null"),
        ("track", {"title": "t" * 1000, "a": "t" * 1000, "b": "t" * 1000, "c": "t" * 1100}, "4096"),
        ("track", "not an object", "JSON object"),
        (
            "track",
            {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}},
            "deeper than 8",
        ),
        ("colour", "red", "unknown item field"),
    ],
)
def test_item_fields_have_the_types_and_sizes_of_the_schema(field, value, match):
    served = served_with_item()
    peer = Peer(served)
    item = peer.items()["a"]
    refused(served, peer.edit(lambda d: item.__setitem__(field, value)), match)


def test_eight_levels_of_nesting_are_fine():
    served = served_with_item()
    peer = Peer(served)
    item = peer.items()["a"]
    deep = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": 1}}}}}}}}
    assert served.peer(peer.edit(lambda d: item.__setitem__("track", deep)))


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d.get("other", type=Map).__setitem__("k", 1), "unknown root"),
        (lambda d: d.get("items", type=Map).__setitem__("z", 5), "not a Y.Map"),
        (lambda d: d.get("items", type=Map)["a"].__setitem__("added_by", Text("x")), "shared type"),
        (lambda d: d.get("playback", type=Map).__setitem__("now_playing", 5), "string or null"),
        (lambda d: d.get("playback", type=Map).__setitem__("volume", 5), "unknown playback"),
        (lambda d: d.get("settings", type=Map).__setitem__("auto_sort_by_votes", 1), "boolean"),
    ],
)
def test_only_the_schemas_roots_and_types(edit, match):
    served = served_with_item()
    peer = Peer(served)
    refused(served, peer.edit(edit), match)


def test_settings_take_a_boolean():
    served = served_with_item()
    peer = Peer(served)
    settings_map = peer.doc.get("settings", type=Map)
    assert served.peer(peer.edit(lambda d: settings_map.__setitem__("auto_sort_by_votes", True)))


def test_a_playlist_holds_at_most_max_items():
    served = Served(GateLimits(max_items=5))
    peer = Peer(served)

    def add(count: int) -> Callable[[Doc], None]:
        def fn(doc: Doc) -> None:
            for n in range(count):
                doc.get("items", type=Map)[str(uuid.uuid4())] = Map({**ITEM, "track_id": n})

        return fn

    assert served.peer(peer.edit(add(5)))
    refused(served, peer.edit(add(1)), "at most 5 items")


# -- what yjs apps write ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ops", "match"),
    [
        ([["text", "t", 0, "hello"]], "text is not part"),
        ([["embed", "playback", 0, {"x": 1}]], "text is not part|embed"),
        ([["map_set", "playback", "now_playing", {"deep": 1}]], "string or null"),
        ([["binary", "playback", "now_playing", "AAE="]], "binary"),
        ([["subdoc", "playback", "now_playing"]], "sub-document"),
        ([["nested", "playback", "started_at"]], "shared type"),
        ([["xml", "playback", "p", "x"]], "is a map"),
    ],
)
def test_what_yjs_apps_may_not_write_is_refused(yjs: YjsTool, ops, match):
    served = served_with_item()
    updates, _ = yjs.build(ops, client=4242, base=served.state())
    with pytest.raises(Rejected, match=match):
        for update in updates:
            served.peer(update)


legit_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("item"),
            st.none(),
            st.sampled_from(["p", "q", "r"]),
            st.fixed_dictionaries(
                {
                    "track_id": st.integers(1, 35),
                    "position": st.floats(-1e9, 1e9),
                    "added_by": st.text(max_size=30),
                    "added_at": st.just("2026-01-01T00:00:00.000Z"),
                    "played_at": st.none(),
                }
            ),
        ),
        st.tuples(st.just("vote"), st.none(), st.sampled_from(["a", "p", "q"]), st.integers(-2, 2)),
        st.tuples(
            st.just("field"),
            st.none(),
            st.sampled_from(["a", "p"]),
            st.just("position"),
            st.floats(-1e9, 1e9),
        ),
        st.tuples(st.just("remove"), st.none(), st.sampled_from(["a", "p", "q", "r"])),
        st.tuples(
            st.just("map_set"),
            st.just("playback"),
            st.just("now_playing"),
            st.sampled_from(["a", "p", None]),
        ),
        st.tuples(
            st.just("map_set"), st.just("settings"), st.just("auto_sort_by_votes"), st.booleans()
        ),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=legit_ops, second=legit_ops)
def test_whatever_two_yjs_peers_write_by_the_schema_is_accepted(yjs, first, second):
    served = served_with_item()
    one, _ = yjs.build([list(o) for o in first], client=1001, base=served.state())
    two, _ = yjs.build([list(o) for o in second], client=1002, base=served.state())
    # Interleaved, as two connections would deliver them, with server writes in between.
    for n, update in enumerate([u for pair in zip(one, two, strict=False) for u in pair]):
        assert served.peer(update)
        if n % 3 == 0:
            served.write(op.add_item, item_id=f"s{n}", track_id=30 + n, added_by="r", added_at="t")
    for update in one[len(two) :] + two[len(one) :]:
        assert served.peer(update)
