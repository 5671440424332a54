"""A strict decoder of Yjs v1 updates, run before pycrdt ever sees a peer's bytes.

pycrdt has no update decoder of its own (``Y.decodeUpdate`` exists only in JS), and
what it does on hostile input is not safe: a value nested ~20,000 deep crashes the
whole process, and lib0-style readers stop quietly at the end of the bytes. So this is
written by hand, after yjs ``UpdateDecoderV1`` / ``readClientsStructRefs`` /
``readItemContent`` and lib0 ``decoding.readAny``, and it is stricter than they are:
truncation, trailing bytes, unknown tags, invalid UTF-8, lengths larger than what is
left and values nested deeper than a bound all raise :class:`DecodeError` before
anything is allocated from an untrusted length. Nothing here recurses without a bound.

The v1 layout: ``varUint`` number of client groups; per group ``varUint`` struct count,
client, first clock, then structs (an info byte: low 5 bits the content ref, 0 GC,
10 Skip, else an Item; bit 8 origin, bit 7 right origin, bit 6 parent sub); then the
delete set (per client: ``varUint`` client, count, then ``clock, length`` pairs).
"""

from __future__ import annotations

import struct as _struct
from dataclasses import dataclass
from typing import Any, NamedTuple

MAX_SAFE_INTEGER = (1 << 53) - 1
HARD_MAX_DEPTH = 64
"""Deeper values are refused whatever the rules say: nothing legitimate nests this far."""

# Content refs (yjs ``contentRefs``), the low 5 bits of an item's info byte.
GC_REF = 0
DELETED = 1
JSON = 2
BINARY = 3
STRING = 4
EMBED = 5
FORMAT = 6
TYPE = 7
ANY = 8
DOC = 9
SKIP_REF = 10

# Type refs of ContentType (yjs ``typeRefs``).
ARRAY, MAP, TEXT, XML_ELEMENT, XML_FRAGMENT, XML_HOOK, XML_TEXT = range(7)
TYPE_NAMES = ("Array", "Map", "Text", "XmlElement", "XmlFragment", "XmlHook", "XmlText")

_BIT8, _BIT7, _BIT6, _BITS5 = 0x80, 0x40, 0x20, 0x1F
_F32 = _struct.Struct(">f")
_F64 = _struct.Struct(">d")
_I64 = _struct.Struct(">q")


class BigInt64(int):
    """A lib0 BigInt (tag 122): an int to Python, a ``bigint`` to JS, which cannot add it to
    numbers, so the gate keeps it apart from plain integers."""


class _Undefined:
    """JS ``undefined`` (tag 127), which pycrdt reads as None but JS does not."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED = _Undefined()


class DecodeError(ValueError):
    """The bytes are not a well-formed Yjs v1 update."""


class TooDeep(DecodeError):
    """A value nests deeper than the decoder's bound."""


class ID(NamedTuple):
    client: int
    clock: int


# Plain slotted classes, not frozen ones: a frozen dataclass's __init__ costs a call per
# field, and these are made for every struct of every update on the write path.
@dataclass(slots=True)
class Content:
    """An item's content: ``ref`` (DELETED, ANY, TYPE, ...), its clock length, and what
    the gate needs of it: ``values`` (ANY, JSON strings), ``type_ref`` (TYPE),
    ``depth`` (deepest nesting of ANY values), ``size`` (its encoded bytes)."""

    ref: int
    length: int
    values: tuple[Any, ...] = ()
    type_ref: int | None = None
    name: str | None = None  # XmlElement node name, XmlHook name, Format key, Doc guid
    depth: int = 0
    size: int = 0


@dataclass(slots=True)
class Struct:
    """One struct: ``kind`` is "item", "gc" or "skip"; ``parent`` a root name, an ID
    or None (then it is inherited from ``origin``, else ``right_origin``)."""

    kind: str
    id: ID
    length: int
    origin: ID | None = None
    right_origin: ID | None = None
    parent: str | ID | None = None
    parent_sub: str | None = None
    content: Content | None = None


@dataclass(slots=True)
class Update:
    structs: tuple[Struct, ...]
    delete_set: dict[int, tuple[tuple[int, int], ...]]


class _Reader:
    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes) -> None:
        self.data, self.pos, self.end = data, 0, len(data)

    def u8(self) -> int:
        if self.pos >= self.end:
            raise DecodeError("truncated update")
        byte = self.data[self.pos]
        self.pos += 1
        return byte

    def var_uint(self) -> int:
        data, pos, end = self.data, self.pos, self.end
        if pos < end and data[pos] < 0x80:  # one byte: the common case
            self.pos = pos + 1
            return data[pos]
        value, mult = 0, 1
        while pos < end:
            byte = data[pos]
            pos += 1
            value += (byte & 0x7F) * mult
            if byte < 0x80:
                self.pos = pos
                return value
            mult *= 128
            if value > MAX_SAFE_INTEGER:
                raise DecodeError("integer out of range")
        raise DecodeError("truncated update")

    def var_int(self) -> int:
        first = self.u8()
        value = first & 0x3F
        sign = -1 if first & 0x40 else 1
        if first < 0x80:
            return sign * value
        mult = 64
        while True:
            byte = self.u8()
            value += (byte & 0x7F) * mult
            if byte < 0x80:
                return sign * value
            mult *= 128
            if value > MAX_SAFE_INTEGER:
                raise DecodeError("integer out of range")

    def take(self, length: int) -> bytes:
        if length > self.end - self.pos:
            raise DecodeError("length beyond the end of the update")
        chunk = self.data[self.pos : self.pos + length]
        self.pos += length
        return chunk

    def var_bytes(self) -> bytes:
        return self.take(self.var_uint())

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("a string is not valid UTF-8") from None

    def count(self, least_bytes_each: int = 1) -> int:
        """A count of things still to read: at most what the bytes left can hold."""
        n = self.var_uint()
        if n * least_bytes_each > self.end - self.pos:
            raise DecodeError("count beyond the end of the update")
        return n

    # -- lib0 readAny ------------------------------------------------------------------

    def any(self, depth: int, max_depth: int) -> tuple[Any, int]:
        """One value and its nesting depth (a scalar 0, ``{}`` or ``[]`` 1)."""
        tag = self.u8()
        if tag == 119:
            return self.var_string(), 0
        if tag == 125:
            return self.var_int(), 0
        if tag == 123:
            return _F64.unpack(self.take(8))[0], 0
        if tag == 126:
            return None, 0
        if tag == 120:
            return True, 0
        if tag == 121:
            return False, 0
        if tag == 127:
            return UNDEFINED, 0
        if tag == 124:
            return _F32.unpack(self.take(4))[0], 0
        if tag == 122:
            return BigInt64(_I64.unpack(self.take(8))[0]), 0
        if tag == 116:
            return self.var_bytes(), 0
        if tag in (117, 118):
            if depth >= max_depth:
                raise TooDeep(f"a value is nested deeper than {max_depth}")
            if tag == 118:
                obj: dict[str, Any] = {}
                deepest = 0
                for _ in range(self.count(2)):
                    key = self.var_string()
                    obj[key], inner = self.any(depth + 1, max_depth)
                    deepest = max(deepest, inner)
                return obj, deepest + 1
            arr: list[Any] = []
            deepest = 0
            for _ in range(self.count(1)):
                value, inner = self.any(depth + 1, max_depth)
                arr.append(value)
                deepest = max(deepest, inner)
            return arr, deepest + 1
        raise DecodeError(f"unknown value tag {tag}")

    def skip_any(self, max_depth: int) -> int:
        """Step over one value without building it (iteratively); its nesting depth."""
        stack = [[1, False]]  # per open container: values left, whether keys come first
        deepest = 0
        while stack:
            top = stack[-1]
            if top[0] == 0:
                stack.pop()
                continue
            top[0] -= 1
            if top[1]:
                self.var_bytes()
            tag = self.u8()
            if tag in (126, 127, 120, 121):
                continue
            if tag == 125:
                self.var_int()
            elif tag == 123 or tag == 122:
                self.take(8)
            elif tag == 124:
                self.take(4)
            elif tag == 119 or tag == 116:
                self.var_bytes()
            elif tag == 118 or tag == 117:
                if len(stack) > max_depth:
                    raise TooDeep(f"a value is nested deeper than {max_depth}")
                stack.append([self.count(2 if tag == 118 else 1), tag == 118])
                deepest = max(deepest, len(stack) - 1)
            else:
                raise DecodeError(f"unknown value tag {tag}")
        return deepest


def _utf16_length(text: str) -> int:
    """A ContentString's clock length: JS string length, in UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _read_content(reader: _Reader, ref: int, values: bool, max_depth: int) -> Content:
    start = reader.pos
    if ref == ANY:
        n = reader.count(1)
        if values:
            decoded = [reader.any(0, max_depth) for _ in range(n)]
            items = tuple(v for v, _ in decoded)
            depth = max((d for _, d in decoded), default=0)
        else:
            items = ()
            depth = max((reader.skip_any(max_depth) for _ in range(n)), default=0)
        return Content(ANY, n, items, depth=depth, size=reader.pos - start)
    if ref == DELETED:
        n = reader.var_uint()
        return Content(DELETED, n)
    if ref == TYPE:
        type_ref = reader.var_uint()
        name = None
        if type_ref in (XML_ELEMENT, XML_HOOK):
            name = reader.var_string()
        elif type_ref > XML_TEXT:
            raise DecodeError(f"unknown type ref {type_ref}")
        return Content(TYPE, 1, type_ref=type_ref, name=name)
    if ref == STRING:
        text = reader.var_string()
        length = _utf16_length(text)
        return Content(STRING, length, (text,) if values else (), size=reader.pos - start)
    if ref == JSON:
        n = reader.count(1)
        strings = tuple(reader.var_string() for _ in range(n))
        return Content(JSON, n, strings if values else (), size=reader.pos - start)
    if ref == BINARY:
        data = reader.var_bytes()
        return Content(BINARY, 1, (data,) if values else (), size=reader.pos - start)
    if ref == EMBED:
        return Content(EMBED, 1, (reader.var_string(),), size=reader.pos - start)
    if ref == FORMAT:
        key = reader.var_string()
        return Content(FORMAT, 1, (reader.var_string(),), name=key, size=reader.pos - start)
    if ref == DOC:
        guid = reader.var_string()
        reader.skip_any(max_depth)
        return Content(DOC, 1, name=guid, size=reader.pos - start)
    raise DecodeError(f"unknown content ref {ref}")


def _read_id(reader: _Reader) -> ID:
    return ID(reader.var_uint(), reader.var_uint())


def decode_update(data: bytes, *, values: bool = True, max_depth: int = HARD_MAX_DEPTH) -> Update:
    """Decode a whole v1 update, or raise :class:`DecodeError`.

    ``values=False`` steps over ANY values without building them (iteratively, so
    ``max_depth`` can be large): enough to index what a trusted update wrote where.
    """
    reader = _Reader(data)
    structs: list[Struct] = []
    seen_clients: set[int] = set()
    for _ in range(reader.count(3)):
        n = reader.count(1)
        client = reader.var_uint()
        if client in seen_clients:
            raise DecodeError("a client's structs come in two groups")
        seen_clients.add(client)
        clock = reader.var_uint()
        for _ in range(n):
            info = reader.u8()
            ref = info & _BITS5
            if ref in (GC_REF, SKIP_REF):
                if info != ref:
                    raise DecodeError("flags on a GC or Skip struct")
                length = reader.var_uint()
                kind = "gc" if ref == GC_REF else "skip"
                structs.append(Struct(kind, ID(client, clock), length))
            else:
                origin = _read_id(reader) if info & _BIT8 else None
                right_origin = _read_id(reader) if info & _BIT7 else None
                parent: str | ID | None = None
                parent_sub = None
                if not info & (_BIT8 | _BIT7):
                    is_root = reader.var_uint()
                    if is_root == 1:
                        parent = reader.var_string()
                    elif is_root == 0:
                        parent = _read_id(reader)
                    else:
                        raise DecodeError("bad parent info")
                    if info & _BIT6:
                        parent_sub = reader.var_string()
                content = _read_content(reader, ref, values, max_depth)
                length = content.length
                structs.append(
                    Struct(
                        "item",
                        ID(client, clock),
                        length,
                        origin,
                        right_origin,
                        parent,
                        parent_sub,
                        content,
                    )
                )
            clock += length
            if clock > MAX_SAFE_INTEGER:
                raise DecodeError("clock out of range")
    delete_set: dict[int, tuple[tuple[int, int], ...]] = {}
    for _ in range(reader.count(2)):
        client = reader.var_uint()
        ranges = []
        for _ in range(reader.count(2)):
            start = reader.var_uint()
            length = reader.var_uint()
            if start + length > MAX_SAFE_INTEGER:
                raise DecodeError("clock out of range")
            ranges.append((start, length))
        delete_set[client] = delete_set.get(client, ()) + tuple(ranges)
    if reader.pos != reader.end:
        raise DecodeError(f"{reader.end - reader.pos} bytes after the end of the update")
    return Update(tuple(structs), delete_set)
