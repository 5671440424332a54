"""The gate: what a peer may write (CONTRACT §9), judged on decoded structs before pycrdt.

To know what a new struct writes (which root, which item, which field, which vote key)
its parent must be resolved: it is given (a root name, or the ID of a type) or inherited
from its origin, else its right origin, which may be in the document already or earlier
in the same update. So the gate keeps a :class:`StructIndex` of where every struct of the
document lives: built from the document's state when a peer first writes, then fed with
every update the room integrates (REST, repairs, remote, accepted peer updates). Only
structs new to the document (past its state vector) are judged; a peer re-sending history
is never refused for it. docs/gate.md says why each rule and each deletion rule is what it
is.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc

from crdt import schema as s

from .extensions import RoomExtension
from .origins import Origin, PeerOrigin
from .storage import StoredDocument
from .updates import (
    BINARY,
    DELETED,
    DOC,
    EMBED,
    FORMAT,
    GC_REF,
    ID,
    JSON,
    MAP,
    STRING,
    TYPE,
    TYPE_NAMES,
    BigInt64,
    DecodeError,
    Struct,
    TooDeep,
    Update,
    decode_update,
)

SERVER_VOTE_PREFIX = "server:"
SERVER_KEY_PREFIXES = (SERVER_VOTE_PREFIX, s.MERGED_VOTE_PREFIX)
MAX_VOTE = float(1 << 53)
SETTINGS = "settings"
AUTO_SORT = "auto_sort_by_votes"
ROOTS = (s.ITEMS, s.PLAYBACK, SETTINGS)
FORBIDDEN_CONTENT = {
    STRING: "text",
    BINARY: "binary data",
    EMBED: "an embed",
    FORMAT: "rich-text formatting",
    DOC: "a sub-document",
    JSON: "legacy JSON content",
}
TRUSTED_MAX_DEPTH = 1 << 20
"""Stored and server-made updates are indexed without building values (iteratively)."""
PENDING_UPDATES = 500
PENDING_BYTES = 1 << 20
"""Integrated updates wait this long to be indexed: until a peer's update needs the index."""


@dataclass(frozen=True, slots=True)
class GateLimits:
    """What a peer may write, in size (CONTRACT §9)."""

    max_depth: int = 8
    max_string_bytes: int = 1024
    max_track_bytes: int = 4096
    max_items: int = 1000


class Rejected(Exception):
    """An update breaks a rule of CONTRACT §9; the reason goes in the close frame."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Malformed(DecodeError):
    """An update that is not a well-formed Yjs v1 update (a protocol error)."""


class Incomplete(Exception):
    """The update builds on structs the document does not have: nothing applied, yet no
    rule broken; the caller asks the peers for what is missing."""


# A place is where a type lives: ("root", name, None), ("item", item id, type ID),
# ("votes", item id, type ID), or ("other", "", type ID) for types outside the schema.
Place = tuple[str, str, ID | None]
Location = tuple[Place, str | None]  # the parent type and the map key (None: a list)
GC = None  # the location of a collected range: it writes nowhere


class _Missing(Exception):
    """The struct depends on one the document does not have yet."""


@dataclass(slots=True)
class _Watched:
    """A struct the deletion rules care about: an item map, a votes map, a vote value."""

    kind: str  # "item" | "votes" | "vote"
    parent: ID | None  # the item map of a votes map, the votes map of a vote value
    key: str = ""
    dead: bool = False


@dataclass(slots=True)
class _Ranges:
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    locations: list[Location | None] = field(default_factory=list)
    kinds: list[int] = field(default_factory=list)  # content ref; GC_REF for collected


class StructIndex:
    """Where each struct of a document lives, by ID range; and what it must remember."""

    def __init__(self) -> None:
        self._clients: dict[int, _Ranges] = {}
        self.types: dict[ID, Place] = {}
        self.votes_of: dict[ID, ID] = {}  # item map type -> its current votes map type
        self._watched: dict[int, list[int]] = {}
        self.watched: dict[ID, _Watched] = {}
        self.server_clients: set[int] = set()

    def clock(self, client: int) -> int:
        """The document's next clock for ``client`` (its state vector entry)."""
        ranges = self._clients.get(client)
        return ranges.ends[-1] if ranges and ranges.ends else 0

    def find(self, id_: ID) -> tuple[bool, Location | None]:
        """(known, location) of the struct holding ``id_``."""
        ranges = self._clients.get(id_.client)
        if ranges is None:
            return False, None
        place = bisect_right(ranges.starts, id_.clock) - 1
        if place < 0 or id_.clock >= ranges.ends[place]:
            return False, None
        return True, ranges.locations[place]

    def kind(self, id_: ID) -> int | None:
        """The content ref of the struct holding ``id_`` (GC_REF: collected), if known."""
        ranges = self._clients.get(id_.client)
        if ranges is None:
            return None
        place = bisect_right(ranges.starts, id_.clock) - 1
        if place < 0 or id_.clock >= ranges.ends[place]:
            return None
        return ranges.kinds[place]

    def add(self, struct: Struct, location: Location | None) -> None:
        ranges = self._clients.setdefault(struct.id.client, _Ranges())
        start, end = struct.id.clock, struct.id.clock + struct.length
        kind = _kind(struct)
        if not ranges.ends or start >= ranges.ends[-1]:
            ranges.starts.append(start)
            ranges.ends.append(end)
            ranges.locations.append(location)
            ranges.kinds.append(kind)
            return
        place = bisect_right(ranges.starts, start)
        if place > 0 and ranges.ends[place - 1] > start:
            return  # already known (a struct the document holds is never replaced)
        ranges.starts.insert(place, start)
        ranges.ends.insert(place, end)
        ranges.locations.insert(place, location)
        ranges.kinds.insert(place, kind)

    def watch(self, id_: ID, watched: _Watched) -> None:
        self.watched[id_] = watched
        clocks = self._watched.setdefault(id_.client, [])
        if not clocks or id_.clock > clocks[-1]:
            clocks.append(id_.clock)
        else:
            insort(clocks, id_.clock)

    def watched_in(self, client: int, start: int, length: int) -> list[ID]:
        clocks = self._watched.get(client)
        if not clocks:
            return []
        first = bisect_right(clocks, start - 1)
        last = bisect_right(clocks, start + length - 1)
        return [ID(client, clock) for clock in clocks[first:last]]


class _Resolver:
    """Locations of an update's structs, which may depend on each other in any order."""

    def __init__(self, index: StructIndex, update: Update) -> None:
        self.index = index
        self.structs = update.structs
        self._by_client: dict[int, tuple[list[int], list[int]]] | None = None
        self.locations: list[Location | None] = [None] * len(self.structs)
        self.types: dict[ID, Place] = {}
        self.done = [False] * len(self.structs)

    @property
    def by_client(self) -> dict[int, tuple[list[int], list[int]]]:
        """Per client, this update's struct clocks and numbers (built on first use)."""
        if self._by_client is None:
            self._by_client = {}
            for number, struct in enumerate(self.structs):
                if struct.kind == "skip":
                    continue
                starts, numbers = self._by_client.setdefault(struct.id.client, ([], []))
                starts.append(struct.id.clock)
                numbers.append(number)
        return self._by_client

    def own(self, id_: ID) -> int | None:
        """The number of this update's struct holding ``id_``, if any."""
        if len(self.structs) == 1:
            struct = self.structs[0]
            inside = struct.id.client == id_.client and (
                struct.id.clock <= id_.clock < struct.id.clock + struct.length
            )
            return 0 if inside and struct.kind != "skip" else None
        entry = self.by_client.get(id_.client)
        if entry is None:
            return None
        starts, numbers = entry
        place = bisect_right(starts, id_.clock) - 1
        if place < 0:
            return None
        struct = self.structs[numbers[place]]
        if id_.clock >= struct.id.clock + struct.length:
            return None
        return numbers[place]

    def resolve_all(self) -> list[Location | _Missing | None]:
        results: list[Location | _Missing | None] = []
        for number in range(len(self.structs)):
            results.append(self._resolve(number))
        return results

    def _resolve(self, number: int) -> Location | _Missing | None:
        """Resolve with an explicit stack: chains of origins can be long (typed text)."""
        if not self.done[number] and self._dependency(number) is None:
            self._settle(number)  # the common case: everything it needs is known
            return self.locations[number]
        stack = [number]
        on_stack = {number}
        while stack:
            top = stack[-1]
            if self.done[top]:
                stack.pop()
                on_stack.discard(top)
                continue
            dependency = self._dependency(top)
            if dependency is not None:
                if dependency in on_stack:
                    raise Rejected("structs of the update depend on each other in a circle")
                stack.append(dependency)
                on_stack.add(dependency)
                continue
            self._settle(top)
            stack.pop()
            on_stack.discard(top)
        result = self.locations[number]
        return result

    def _refs(self, struct: Struct) -> list[ID]:
        if struct.kind != "item":
            return []
        if struct.parent is not None:
            return [struct.parent] if isinstance(struct.parent, ID) else []
        return [ref for ref in (struct.origin, struct.right_origin) if ref is not None]

    def _dependency(self, number: int) -> int | None:
        """An unresolved struct of this update that ``number`` needs first."""
        for ref in self._refs(self.structs[number]):
            other = self.own(ref)
            if other is not None and other != number and not self.done[other]:
                if self.index.find(ref)[0]:
                    continue  # the document already holds it
                return other
        return None

    def _lookup(self, ref: ID) -> tuple[bool, Location | None]:
        known, location = self.index.find(ref)
        if known:
            return True, location
        other = self.own(ref)
        if other is not None:
            found = self.locations[other]
            return True, None if isinstance(found, _Missing) else found
        return False, None

    def _type_place(self, ref: ID) -> Place | _Missing | None:
        place = self.index.types.get(ref) or self.types.get(ref)
        if place is not None:
            return place
        kind = self.index.kind(ref)
        if kind is None:
            other = self.own(ref)
            if other is not None:
                kind = _kind(self.structs[other])
            elif ref.clock >= self.index.clock(ref.client):
                return _Missing()
            else:
                return None
        if kind in (TYPE, DELETED, GC_REF):
            return None  # collected or deleted (or a type in no place): it goes nowhere
        # pycrdt half-applies such an update before it fails; no peer writes one.
        raise Rejected("a struct's parent is not a shared type")

    def _settle(self, number: int) -> None:
        self.done[number] = True
        struct = self.structs[number]
        if struct.kind != "item":
            self.locations[number] = GC
            return
        location: Location | _Missing | None
        if struct.parent is not None:
            if isinstance(struct.parent, str):
                location = (("root", struct.parent, None), struct.parent_sub)
            else:
                place = self._type_place(struct.parent)
                location = (
                    place
                    if place is None or isinstance(place, _Missing)
                    else (place, struct.parent_sub)
                )
        else:
            location = self._inherited(struct)
        self.locations[number] = location  # type: ignore[assignment]
        if location is None or isinstance(location, _Missing):
            return
        content = struct.content
        if content is not None and content.ref == TYPE:
            self.types[struct.id] = _child_place(location, struct, content.type_ref)

    def _inherited(self, struct: Struct) -> Location | _Missing | None:
        found: list[Location] = []
        for ref in (struct.origin, struct.right_origin):
            if ref is None:
                continue
            known, location = self._lookup(ref)
            if not known:
                if ref.clock >= self.index.clock(ref.client):
                    return _Missing()
                continue
            if location is not None:
                found.append(location)
        if len(found) == 2 and found[0] != found[1]:
            raise Rejected("a struct's origins lie in different places")
        return found[0] if found else GC


def _kind(struct: Struct) -> int:
    return struct.content.ref if struct.content is not None else GC_REF


def _child_place(location: Location, struct: Struct, type_ref: int | None) -> Place:
    """Where a new type created at ``location`` lives."""
    (kind, name, _), key = location
    if type_ref == MAP and key is not None:
        if kind == "root" and name == s.ITEMS:
            return ("item", key, struct.id)
        if kind == "item" and key == s.VOTES:
            return ("votes", name, struct.id)
    return ("other", "", struct.id)


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class Gate:
    """Judges peers' updates against the document; learns from every integrated one."""

    def __init__(
        self, limits: GateLimits, *, server_client: int, server_clients: Iterable[int] = ()
    ) -> None:
        self.limits = limits
        self.server_client = server_client
        self.index: StructIndex | None = None
        """Where every struct of the document lives: built from the document's state when
        the first peer update is judged, then kept up to date with every integrated one."""
        self._server_clients = {server_client, *server_clients}
        # The last update judged, decoded and resolved: pycrdt hands the same bytes back as
        # the transaction's update once it integrated them whole, so they are indexed
        # without decoding them twice.
        self._judged: tuple[bytes, Update, _Resolver, list[Any]] | None = None
        # Once built, indexing waits until a peer writes again: a burst of server writes is
        # indexed in one go.
        self._pending: list[tuple[bytes, bool]] = []
        self._pending_bytes = 0

    @property
    def server_clients(self) -> set[int]:
        """Client ids that write as the server (their structs may hold server vote keys)."""
        return self._server_clients if self.index is None else self.index.server_clients

    # -- learning ------------------------------------------------------------------------

    def integrated(self, update: bytes, *, trusted: bool) -> None:
        """Learn an update the document integrated (``trusted``: not a peer's)."""
        if self.index is None:
            return  # nothing to keep up to date: the document's state will be indexed
        judged, self._judged = self._judged, None
        if judged is not None and judged[0] == update and not self._pending:
            self._index(update, trusted, judged)
            return
        self._pending.append((update, trusted))
        self._pending_bytes += len(update)
        if len(self._pending) >= PENDING_UPDATES or self._pending_bytes >= PENDING_BYTES:
            self._catch_up()

    def _build(self, doc: Doc) -> None:
        """Index the document as it is: one decode of its state, where indexing what built
        it (a snapshot and up to 500 stored rows, or every write since) decodes each
        overwritten vote again; 500 rows took 1.5 s on load, this takes milliseconds.
        What the document holds came from storage, the server or judged peers: trusted."""
        self.index = StructIndex()
        self.index.server_clients.update(self._server_clients)
        self._index(doc.get_update(), True, None)

    def _catch_up(self) -> None:
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        for update, trusted in pending:
            self._index(update, trusted, None)

    def _index(self, update: bytes, trusted: bool, judged: tuple[Any, ...] | None) -> None:
        index = self.index
        assert index is not None, "only a built index learns"
        if judged is not None:
            _, decoded, resolver, locations = judged
        else:
            try:
                decoded = decode_update(update, values=False, max_depth=TRUSTED_MAX_DEPTH)
            except DecodeError:
                return  # pycrdt encoded it: cannot happen; never break the room over it
            resolver = _Resolver(index, decoded)
            try:
                locations = resolver.resolve_all()
            except Rejected:
                return
        for struct, location in zip(decoded.structs, locations, strict=True):
            if struct.kind == "skip":
                continue
            where = None if isinstance(location, _Missing) else location
            index.add(struct, where)
            if where is None:
                continue
            (kind, _, type_id), key = where
            if struct.id in resolver.types:
                place = resolver.types[struct.id]
                index.types[struct.id] = place
                if place[0] == "item":
                    index.watch(struct.id, _Watched("item", None))
                elif place[0] == "votes" and type_id is not None:
                    index.watch(struct.id, _Watched("votes", type_id))
                    index.votes_of[type_id] = struct.id
            elif kind == "votes" and key is not None and type_id is not None:
                index.watch(struct.id, _Watched("vote", type_id, key))
                if trusted and key.startswith(SERVER_KEY_PREFIXES):
                    index.server_clients.add(struct.id.client)
        for client, ranges in decoded.delete_set.items():
            for start, length in ranges:
                for id_ in index.watched_in(client, start, length):
                    index.watched[id_].dead = True

    # -- judging -------------------------------------------------------------------------

    def judge(self, update: bytes, doc: Doc) -> bool:
        """Raise :class:`Rejected` or :class:`Malformed` if a peer may not apply ``update``
        to ``doc``.

        Returns False when it depends on structs the document does not have yet (apply
        nothing; ask the peers for what is missing), True when it may be applied.
        """
        self._judged = None
        if self.index is None:
            self._build(doc)
        elif self._pending:
            self._catch_up()
        try:
            decoded = decode_update(update)
        except TooDeep as exc:
            raise Rejected(f"a value is nested deeper than {self.limits.max_depth}") from exc
        except DecodeError as exc:
            raise Malformed(str(exc)) from exc
        judgement = _Judgement(self, decoded, doc)
        complete = judgement.run()
        if complete:
            self._judged = (update, decoded, judgement.resolver, judgement.locations)
        return complete


class _Judgement:
    def __init__(self, gate: Gate, update: Update, doc: Doc) -> None:
        self.gate, self.limits, self.index = gate, gate.limits, gate.index
        self.update = update
        self.doc = doc
        self.new_items: set[str] = set()
        self.rewritten: set[tuple[ID, str]] = set()  # (map type, key) written here

    def run(self) -> bool:
        self.resolver = _Resolver(self.index, self.update)
        self.locations = self.resolver.resolve_all()
        missing = False
        for struct, location in zip(self.update.structs, self.locations, strict=True):
            if struct.kind == "skip" or struct.id.clock + struct.length <= self.index.clock(
                struct.id.client
            ):
                continue  # not new: the document holds it already
            if struct.id.client == self.gate.server_client:
                raise Rejected("new structs under the server's own client id")
            if isinstance(location, _Missing):
                missing = True
                continue
            if struct.kind == "item" and location is not None:
                self._judge_item(struct, location)
        if self.new_items:
            items = s.items_map(self.doc)
            added = sum(1 for item_id in self.new_items if item_id not in items)
            if len(items) + added > self.limits.max_items:
                raise Rejected(f"a playlist holds at most {self.limits.max_items} items")
        self._judge_deletions()
        return not missing and not self._deletes_unknown_structs()

    # -- what a new struct writes --------------------------------------------------------

    def _judge_item(self, struct: Struct, location: Location) -> None:
        (kind, name, type_id), key = location
        content = struct.content
        assert content is not None
        if content.ref in FORBIDDEN_CONTENT:
            raise Rejected(f"{FORBIDDEN_CONTENT[content.ref]} is not part of the schema")
        if kind == "other":
            raise Rejected("writes into a type outside the schema")
        if kind == "root" and name not in ROOTS:
            raise Rejected(f"unknown root type {name[:40]!r}")
        if key is None:
            raise Rejected(f"{_where(kind, name)} is a map, not a list")
        if type_id is not None:
            self.rewritten.add((type_id, key))
        if kind == "root" and name == s.ITEMS:
            self._judge_item_map(key, content)
        elif kind == "root":
            self._judge_scalar_field(name, key, content)
        elif kind == "item":
            self._judge_item_field(name, key, content, type_id)
        else:
            self._judge_vote(struct, key, content)

    def _judge_item_map(self, item_id: str, content: Any) -> None:
        if _utf8_size(item_id) > self.limits.max_string_bytes:
            raise Rejected(f"an item id is longer than {self.limits.max_string_bytes} bytes")
        if content.ref == DELETED:
            return
        if content.ref != TYPE or content.type_ref != MAP:
            raise Rejected(f"item {item_id[:40]!r} is not a Y.Map")
        self.new_items.add(item_id)

    def _value(self, where: str, content: Any) -> tuple[bool, Any]:
        """(present, value) of a map entry's content: a deleted entry writes no value."""
        if content.ref == DELETED:
            return False, None
        if content.ref == TYPE:
            raise Rejected(f"{where} must not be a shared type ({TYPE_NAMES[content.type_ref]})")
        if content.length != 1:
            raise Rejected(f"{where} holds {content.length} values, not one")
        if content.depth > self.limits.max_depth:
            raise Rejected(f"a value is nested deeper than {self.limits.max_depth}")
        return True, content.values[0]

    def _string(self, where: str, value: Any, *, nullable: bool) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, str):
            raise Rejected(f"{where} must be a string{' or null' if nullable else ''}")
        if _utf8_size(value) > self.limits.max_string_bytes:
            raise Rejected(f"{where} is longer than {self.limits.max_string_bytes} bytes")

    def _judge_scalar_field(self, root: str, key: str, content: Any) -> None:
        where = f"{root}.{key[:40]}"
        present, value = self._value(where, content)
        if root == SETTINGS:
            if key != AUTO_SORT:
                raise Rejected(f"unknown setting {key[:40]!r}")
            if present and not isinstance(value, bool):
                raise Rejected(f"{where} must be a boolean")
            return
        if key not in (s.NOW_PLAYING, s.STARTED_AT):
            raise Rejected(f"unknown playback field {key[:40]!r}")
        if present:
            self._string(where, value, nullable=True)

    def _judge_item_field(self, item_id: str, key: str, content: Any, item_type: ID | None) -> None:
        where = f"item field {key[:40]!r}"
        if key == s.VOTES:
            if content.ref == DELETED:
                return
            if content.ref != TYPE or content.type_ref != MAP:
                raise Rejected("an item's votes must be a Y.Map")
            current = self.index.votes_of.get(item_type) if item_type else None
            if current is not None and not self.index.watched[current].dead:
                raise Rejected(f"replaces the votes of item {item_id[:40]!r}")
            return
        present, value = self._value(where, content)
        if not present:
            return
        if key == s.TRACK_ID:
            if not _is_number(value) or not float(value).is_integer():
                raise Rejected("track_id must be an integer")
        elif key == s.POSITION:
            if not _is_number(value):
                raise Rejected("position must be a finite number")
        elif key in (s.ADDED_BY, s.ADDED_AT):
            self._string(where, value, nullable=False)
        elif key == s.PLAYED_AT:
            self._string(where, value, nullable=True)
        elif key == s.TRACK:
            if not isinstance(value, dict):
                raise Rejected("track must be a JSON object")
            if content.size > self.limits.max_track_bytes:
                raise Rejected(f"track is larger than {self.limits.max_track_bytes} bytes")
            _check_strings(value, self.limits.max_string_bytes)
        else:
            raise Rejected(f"unknown item field {key[:40]!r}")

    def _judge_vote(self, struct: Struct, key: str, content: Any) -> None:
        client = struct.id.client
        if key != str(client):
            if not key.startswith(SERVER_KEY_PREFIXES):
                raise Rejected(f"writes the vote key {key[:40]!r} of another writer")
            if client not in self.index.server_clients:
                raise Rejected(f"writes the server's vote key {key[:40]!r}")
        present, value = self._value("a vote", content)
        if present and (not _is_number(value) or abs(value) > MAX_VOTE):
            raise Rejected("a vote must be a number of at most 2**53")

    # -- what it deletes -----------------------------------------------------------------

    def _deletes_unknown_structs(self) -> bool:
        """Whether the delete set reaches clocks that neither the document nor this update
        holds: incomplete, like a struct whose origin is missing.

        pycrdt keeps such a deletion pending and applies it to whatever later takes those
        clocks: a REST write once the server's clock gets there, another peer's next vote.
        A peer deletes only structs it has, so a real one sends them when asked for what is
        missing (the caller asks), and the deletion comes with them.
        """
        for client, ranges in self.update.delete_set.items():
            end = max((start + length for start, length in ranges), default=0)
            if end > self.index.clock(client) and end > self._own_clock(client):
                return True
        return False

    def _own_clock(self, client: int) -> int:
        """The clock after this update's last struct of ``client`` (0: none)."""
        entry = self.resolver.by_client.get(client)
        if entry is None:
            return 0
        struct = self.update.structs[entry[1][-1]]
        return struct.id.clock + struct.length

    def _judge_deletions(self) -> None:
        index = self.index
        deleted: set[ID] = set()
        for client, ranges in self.update.delete_set.items():
            for start, length in ranges:
                deleted.update(index.watched_in(client, start, length))
        if not deleted:
            return

        def item_gone(item_type: ID | None) -> bool:
            if item_type is None:
                return False
            return item_type in deleted or index.watched[item_type].dead

        for id_ in deleted:
            watched = index.watched[id_]
            if watched.dead or watched.kind == "item":
                continue
            if watched.kind == "votes":
                if not item_gone(watched.parent):
                    raise Rejected("deletes the votes of an item")
                continue
            votes = watched.parent
            item = index.watched[votes].parent if votes in index.watched else None
            if (votes, watched.key) in self.rewritten or item_gone(item):
                continue
            raise Rejected(f"deletes the vote key {watched.key[:40]!r}")


def _where(kind: str, name: str) -> str:
    return name if kind == "root" else f"{kind} {name[:40]!r}"


def _is_number(value: Any) -> bool:
    if isinstance(value, bool | BigInt64) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def _check_strings(value: Any, limit: int) -> None:
    """Every string inside a (depth-bounded) JSON value is at most ``limit`` bytes."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            if _utf8_size(current) > limit:
                raise Rejected(f"a string is longer than {limit} bytes")
        elif isinstance(current, dict):
            stack.extend(current.keys())
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


class GateExtension(RoomExtension):
    """The gate as a room extension: judges peers' updates in ``check_update`` (first in the
    chain, so a refused update is never applied) and learns from every committed one."""

    def __init__(self, limits: GateLimits) -> None:
        self.limits = limits
        self.gate: Gate | None = None
        self._server_clients: set[int] = set()  # while the room is dormant

    def on_load(self, room: Any, stored: StoredDocument) -> None:
        self.gate = self._new_gate(room)

    def on_sleep(self, room: Any) -> None:
        # The index is most of what the gate holds, and it describes the document the room
        # is dropping. The server client ids it learnt are kept: some may have written only
        # structs the document holds no more (a vote value overwritten since), and a peer
        # may still relay their new ones.
        if self.gate is not None:
            self._server_clients = set(self.gate.server_clients)
        self.gate = None

    def on_wake(self, room: Any, state: bytes) -> None:
        self.gate = self._new_gate(room)

    def _new_gate(self, room: Any) -> Gate:
        # Its index is built from the document when a peer first writes: a room that only
        # loads and serves REST never pays for it.
        gate = Gate(self.limits, server_client=room.client_id, server_clients=self._server_clients)
        self._server_clients = set()
        return gate

    def check_update(self, room: Any, update: bytes, origin: Origin) -> None:
        if not isinstance(origin, PeerOrigin):
            return  # another process's stored updates are trusted
        doc = room.doc  # first: reading it wakes a dormant room, which rebuilds the gate
        if self.gate is None:  # never judge without one (say, on_wake failed)
            self.gate = self._new_gate(room)
        if not self.gate.judge(update, doc):
            raise Incomplete

    def on_update(self, room: Any, updates: list[bytes], origin: Origin) -> None:
        if self.gate is not None:
            trusted = not isinstance(origin, PeerOrigin)
            for update in updates:
                self.gate.integrated(update, trusted=trusted)


def gate_of(room: Any) -> Gate | None:
    """The room's gate, if it has one."""
    for extension in room.extensions.extensions:
        if isinstance(extension, GateExtension):
            return extension.gate
    return None
