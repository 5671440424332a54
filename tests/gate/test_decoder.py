"""The strict Yjs v1 decoder (server/engine/updates.py), against yjs's own ``Y.decodeUpdate``.

Differential: on updates made by pycrdt and by yjs from random edits, both decoders must
say exactly the same thing. Hostile: truncation, trailing bytes, deep nesting and huge
lengths raise DecodeError (never anything else, never a crash); whatever mutation of a
real update we accept, yjs decodes to the same structs.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text

from server.engine.updates import DecodeError, TooDeep, decode_update

from .yjs import YjsTool, normalize

EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# -- values and edits ----------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**31), 2**31),
    st.integers(-(2**53) + 1, 2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
keys = st.sampled_from(["a", "b", "c", "items", "x-1", "é", "😀"])


def pycrdt_edit(doc: Doc, edit: tuple[str, Any, Any]) -> None:
    kind, key, value = edit
    root = doc.get("m", type=Map)
    if kind == "set":
        root[key] = value
    elif kind == "map":
        root[key] = Map({"v": value, "inner": Map({"w": value})})
    elif kind == "delete":
        if key in root:
            del root[key]
    elif kind == "text":
        text = doc.get("t", type=Text)
        text.insert(min(len(text), len(key)), str(value)[:30])
    elif kind == "text-delete":
        text = doc.get("t", type=Text)
        if len(text):
            del text[0 : min(len(text), 3)]
    elif kind == "array":
        array = doc.get("a", type=Array)
        array.insert(min(len(array), 1), value)
    elif kind == "array-delete":
        array = doc.get("a", type=Array)
        if len(array):
            del array[0]


pycrdt_edits = st.lists(
    st.tuples(
        st.sampled_from(["set", "map", "delete", "text", "text-delete", "array", "array-delete"]),
        keys,
        values,
    ),
    min_size=1,
    max_size=12,
)

ids = st.text(alphabet="abcdef0123", min_size=1, max_size=4)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
fields = st.sampled_from(["position", "x"])
json_lists = st.lists(json_values, max_size=3)
embeds = st.dictionaries(st.text(max_size=5), json_values, min_size=1, max_size=2)
yjs_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("item"),
            st.none(),
            ids,
            st.fixed_dictionaries(
                {"track_id": st.integers(1, 40), "position": st.floats(-1e6, 1e6)}
            ),
        ),
        st.tuples(st.just("vote"), st.none(), ids, st.integers(-3, 3)),
        st.tuples(st.just("field"), st.none(), ids, fields, json_values),
        st.tuples(st.just("remove"), st.none(), ids),
        st.tuples(st.just("map_set"), st.sampled_from(["playback", "m"]), keys, json_values),
        st.tuples(st.just("map_delete"), st.just("m"), keys),
        st.tuples(st.just("binary"), st.just("m"), keys, st.just("AAEC/w==")),
        st.tuples(st.just("subdoc"), st.just("m"), keys),
        st.tuples(st.just("nested"), st.just("m"), keys),
        st.tuples(st.just("text"), st.just("t"), st.integers(0, 9), st.text(max_size=8)),
        st.tuples(st.just("text_delete"), st.just("t"), st.integers(0, 5), st.integers(1, 3)),
        st.tuples(st.just("format"), st.just("t"), st.integers(0, 5), st.integers(1, 3)),
        st.tuples(st.just("embed"), st.just("t"), st.integers(0, 5), embeds),
        st.tuples(
            st.just("array"), st.just("a"), st.integers(0, 5), st.lists(json_values, max_size=3)
        ),
        st.tuples(st.just("array_delete"), st.just("a"), st.integers(0, 5), st.integers(1, 2)),
        st.tuples(st.just("xml"), st.just("x"), st.sampled_from(["p", "h1"]), st.text(max_size=5)),
    ),
    min_size=1,
    max_size=10,
)


def assert_same(yjs_tool: YjsTool, update: bytes) -> None:
    ours = normalize(decode_update(update))
    theirs = yjs_tool.decode(update)
    assert theirs == ours


# -- differential ---------------------------------------------------------------------------


@EXAMPLES
@given(edits=pycrdt_edits)
def test_updates_made_by_pycrdt_decode_as_yjs_decodes_them(yjs, edits):
    doc = Doc(client_id=2**53 - 7)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for edit in edits:
        with doc.transaction():
            pycrdt_edit(doc, edit)
    for update in [*updates, doc.get_update()]:
        assert_same(yjs, update)


@EXAMPLES
@given(first=yjs_ops, second=yjs_ops, client=st.integers(0, 2**32 - 1))
def test_updates_made_by_yjs_decode_as_yjs_decodes_them(yjs, first, second, client):
    updates, state = yjs.build([list(op) for op in first], client=client)
    # A second writer on top of the first: origins, parents and deletions across clients.
    more, merged = yjs.build([list(op) for op in second], client=client ^ 1, base=state)
    for update in [*updates, *more, state, merged]:
        assert_same(yjs, update)


@EXAMPLES
@given(edits=pycrdt_edits, data=st.data())
def test_whatever_mutation_we_accept_yjs_decodes_the_same(yjs, edits, data):
    doc = Doc(client_id=1234567)  # a fixed id: the same edits make the same bytes
    for edit in edits:
        with doc.transaction():
            pycrdt_edit(doc, edit)
    update = bytearray(doc.get_update())
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(update) - 1))
        how = data.draw(st.sampled_from(["flip", "insert", "delete", "byte"]))
        if how == "flip":
            update[at] ^= 1 << data.draw(st.integers(0, 7))
        elif how == "insert":
            update.insert(at, data.draw(st.integers(0, 255)))
        elif how == "delete" and len(update) > 1:
            del update[at]
        else:
            update[at] = data.draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, 116, 118, 119, 125]))
    try:
        ours = normalize(decode_update(bytes(update)))
    except DecodeError:
        return
    assert yjs.decode(bytes(update)) == ours


# -- hostile bytes --------------------------------------------------------------------------


def _one_item(value_bytes: bytes, *, key: bytes = b"k") -> bytes:
    """An update of one struct: root map ``items``, key ``key``, ContentAny [value]."""
    return (
        b"\x01\x01\x05\x00"  # one client group, one struct, client 5, clock 0
        + b"\x28\x01\x05items"  # Any content, parent sub, root parent "items"
        + bytes([len(key)])
        + key
        + b"\x01"  # one value
        + value_bytes
        + b"\x00"  # empty delete set
    )


def _nested(depth: int) -> bytes:
    """An Any array nested ``depth`` deep, holding null."""
    return b"\x75\x01" * depth + b"\x7e"


@given(data=st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_random_bytes_decode_or_raise_a_decode_error(data):
    with contextlib.suppress(DecodeError):
        decode_update(data)


def test_every_truncation_of_an_update_is_refused():
    doc = Doc()
    doc.get("items", type=Map)["a"] = Map({"x": 1.0, "y": {"z": [1, "two"]}})
    doc.get("t", type=Text).insert(0, "héllo")
    update = doc.get_update()
    decode_update(update)
    for end in range(len(update)):
        with pytest.raises(DecodeError):
            decode_update(update[:end])


def test_trailing_bytes_are_refused():
    update = _one_item(b"\x7d\x01")
    decode_update(update)
    with pytest.raises(DecodeError, match="after the end"):
        decode_update(update + b"\x00")


@pytest.mark.parametrize("depth", [65, 20_000, 30_000])
def test_deep_values_are_refused_without_recursing(depth):
    with pytest.raises(TooDeep):
        decode_update(_one_item(_nested(depth)))


def test_deep_values_are_stepped_over_when_not_built():
    update = _one_item(_nested(30_000))
    decoded = decode_update(update, values=False, max_depth=1 << 20)
    assert decoded.structs[0].content.depth == 30_000


def test_a_length_beyond_the_bytes_left_is_refused_before_allocating():
    huge = b"\x77" + b"\xff\xff\xff\xff\xff\x0f"  # a string of 2**40 - 1 bytes
    with pytest.raises(DecodeError, match="beyond the end"):
        decode_update(_one_item(huge))
    many = b"\x75" + b"\xff\xff\xff\xff\x0f"  # an array of 2**32 - 1 values
    with pytest.raises(DecodeError, match="beyond the end"):
        decode_update(_one_item(many))


def test_invalid_utf8_and_lone_surrogates_are_refused():
    with pytest.raises(DecodeError, match="UTF-8"):
        decode_update(_one_item(b"\x77\x01\xff"))
    with pytest.raises(DecodeError, match="UTF-8"):
        decode_update(_one_item(b"\x77\x03\xed\xa0\x80"))  # U+D800, CESU-style


def test_unknown_tags_and_refs_are_refused():
    with pytest.raises(DecodeError, match="value tag"):
        decode_update(_one_item(b"\x10"))
    bad_ref = b"\x01\x01\x05\x00\x2b\x01\x05items\x01k\x00"  # content ref 11
    with pytest.raises(DecodeError, match="content ref"):
        decode_update(bad_ref)


def test_string_lengths_count_utf16_code_units_as_yjs_does(yjs):
    doc = Doc()
    doc.get("t", type=Text).insert(0, "a😀é")
    update = doc.get_update()
    assert decode_update(update).structs[0].length == 4
    assert_same(yjs, update)
