"""Prometheus series of one server process (CONTRACT §10), in a registry of its own.

Gauges of live state (rooms, peers, listeners) are read from the rooms at scrape time, so
nothing has to be kept in step. Counters are bumped where things happen: storage and the
update bus through the wrappers below (one place each, no call in their code), rooms through
:class:`RoomMetrics`, the surfaces through a few calls. Labels are bounded: route templates,
statuses, close codes, origin kinds and reasons; never an item, a peer or a playlist name.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

from crdt.diff import Change

from .bus import BusMember, BusReceiver, UpdateBus
from .extensions import RoomExtension
from .origins import Origin
from .storage import DocumentStore, StorageError, StoredDocument

if TYPE_CHECKING:
    from .room import Room

# What a close code says about the message that made the server close a Yjs connection.
REJECTED_BY_CLOSE_CODE = {
    1003: "text_frame",
    1007: "malformed",
    1009: "too_big",
    1011: "internal_error",
    4400: "forbidden_write",
}
SLOW_CLOSE_CODE = 1013

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LOOP_LAG_INTERVAL = 0.5
"""How often the event loop is asked to wake up, to measure how late it does."""

# Commits are milliseconds on SQLite with synchronous=FULL, more on a remote PostgreSQL.
_COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    """The series; ``render()`` is the ``/metrics`` body."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        process_collector.ProcessCollector(registry=registry)
        platform_collector.PlatformCollector(registry=registry)
        gc_collector.GCCollector(registry=registry)

        def gauge(name: str, doc: str, **kw: Any) -> Gauge:
            return Gauge(f"playsync_{name}", doc, registry=registry, **kw)

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(f"playsync_{name}", doc, labels, registry=registry)

        self.rooms_loaded = gauge("rooms_loaded", "Playlists loaded in this process")
        self.rooms_dormant = gauge(
            "rooms_dormant", "Of those, how many keep only their encoded document (idle)"
        )
        self.peers = gauge("peers_connected", "Yjs peers connected (/yjs/)")
        self.listeners = gauge("listeners_connected", "Event-stream listeners (WebSocket and SSE)")
        self.loop_lag = gauge("event_loop_lag_seconds", "How late the event loop last woke up")
        self.updates_applied = counter(
            "updates_applied_total", "Document changes applied, by who made them", ("origin",)
        )
        self.updates_rejected = counter(
            "updates_rejected_total",
            "Yjs messages refused (connection closed), by reason",
            ("reason",),
        )
        self.events = counter("events_total", "Legacy events published, by type", ("type",))
        self.requests = counter(
            "http_requests_total",
            "REST requests, by route and status",
            ("method", "route", "status"),
        )
        self.request_seconds = Histogram(
            "playsync_http_request_duration_seconds",
            "REST request duration (to the response head), by route",
            ("method", "route"),
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "playsync_commit_seconds",
            "Time to commit one batch of updates to the database",
            buckets=_COMMIT_BUCKETS,
            registry=registry,
        )
        self.room_loads = counter("room_loads_total", "Playlists loaded from the database")
        self.compactions = counter("compactions_total", "Update logs folded into a snapshot")
        self.storage_errors = counter(
            "storage_errors_total", "Database operations that failed, by operation", ("op",)
        )
        self.bus_messages = counter(
            "bus_messages_total",
            "Updates on the bus between processes, by direction",
            ("direction",),
        )
        self.catchups = counter(
            "catchups_total",
            "Times a room caught up from the database (the bus may have lost some)",
        )
        self.connections_closed = counter(
            "connections_closed_total",
            "WebSocket connections ended, by surface (yjs, events) and close code",
            ("surface", "code"),
        )
        self.slow_connections = counter(
            "slow_connections_total",
            "Peers closed and listeners resynced because they did not keep up, by surface",
            ("surface",),
        )

    def watch_rooms(self, rooms: Callable[[], dict[str, Any]]) -> None:
        """Read loaded (and dormant) rooms, peers and listeners from the rooms at each scrape."""
        self.rooms_loaded.set_function(lambda: len(rooms()))
        self.rooms_dormant.set_function(lambda: sum(room.dormant for room in rooms().values()))
        self.peers.set_function(lambda: sum(len(room.peers) for room in rooms().values()))
        self.listeners.set_function(
            lambda: sum(len(room.events.listeners) for room in rooms().values())
        )

    def connection_ended(self, surface: str, code: int | None) -> None:
        """Count a WebSocket's end, and what its close code says (refused update, too slow)."""
        code = code or 1000
        self.connections_closed.labels(surface, str(code)).inc()
        if code in REJECTED_BY_CLOSE_CODE:
            self.updates_rejected.labels(REJECTED_BY_CLOSE_CODE[code]).inc()
        elif code == SLOW_CLOSE_CODE:
            self.slow_connections.labels(surface).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def watch_loop_lag(self, interval: float = LOOP_LAG_INTERVAL) -> None:
        """Run until cancelled: sleep ``interval``, record how much later than that we woke."""
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(interval)
            self.loop_lag.set(max(0.0, loop.time() - start - interval))


class MeteredStore:
    """A :class:`DocumentStore` that times commits and counts loads, compactions, failures.

    Arguments pass through as they are, and so does anything else the wrapped store offers:
    the wrapper counts, it does not care how storage is called.
    """

    def __init__(self, store: DocumentStore, metrics: Metrics) -> None:
        self._store = store
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def load(self, name: str) -> StoredDocument:
        try:
            stored = await self._store.load(name)
        except StorageError:
            self._metrics.storage_errors.labels("load").inc()
            raise
        self._metrics.room_loads.inc()
        return stored

    async def append(self, name: str, *args: Any, **kwargs: Any) -> int:
        start = time.perf_counter()
        try:
            stored = await self._store.append(name, *args, **kwargs)
        except StorageError:
            self._metrics.storage_errors.labels("append").inc()
            raise
        self._metrics.commit_seconds.observe(time.perf_counter() - start)
        return stored

    async def compact(self, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            result = await self._store.compact(name, *args, **kwargs)
        except StorageError:
            self._metrics.storage_errors.labels("compact").inc()
            raise
        self._metrics.compactions.inc()
        return result


class MeteredBus:
    """An :class:`UpdateBus` that counts the updates its members publish and receive, and
    the catch-ups it asks for.

    Updates published and received are counted on their way through; a resubscription
    (after which every room catches up from the database) counts as a catch-up.
    """

    def __init__(self, bus: UpdateBus, metrics: Metrics) -> None:
        self._bus = bus
        self._published = metrics.bus_messages.labels("published")
        self._received = metrics.bus_messages.labels("received")
        self._catchups = metrics.catchups

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bus, name)

    async def __aenter__(self) -> MeteredBus:
        await self._bus.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._bus.__aexit__(*exc_info)

    def join(self, room: str, receiver: BusReceiver) -> BusMember:
        counted = _CountingReceiver(receiver, self._received, self._catchups)
        return _MeteredMember(self._bus.join(room, counted), self._published)


class _CountingReceiver:
    def __init__(self, receiver: BusReceiver, received: Any, catchups: Any) -> None:
        self._receiver, self._received, self._catchups = receiver, received, catchups

    def on_bus_update(self, version: int, update: bytes) -> None:
        self._received.inc()
        self._receiver.on_bus_update(version, update)

    def on_bus_awareness(self, update: bytes) -> None:
        self._receiver.on_bus_awareness(update)

    def on_bus_presence_query(self) -> None:
        self._receiver.on_bus_presence_query()

    def on_bus_resubscribed(self) -> None:
        self._catchups.inc()
        self._receiver.on_bus_resubscribed()


class _MeteredMember:
    def __init__(self, member: BusMember, published: Any) -> None:
        self._member, self._published = member, published

    def publish_update(self, version: int, update: bytes) -> None:
        self._published.inc()
        self._member.publish_update(version, update)

    def publish_awareness(self, update: bytes) -> None:
        self._member.publish_awareness(update)

    def query_presence(self) -> None:
        self._member.query_presence()

    def leave(self) -> None:
        self._member.leave()


class RoomMetrics(RoomExtension):
    """The room extension that counts changes by origin and legacy events by type.

    One instance serves every room (``extensions=[lambda room: metrics_extension]``).
    """

    def __init__(self, metrics: Metrics) -> None:
        self._applied = metrics.updates_applied
        self._events = metrics.events

    def on_update(self, room: Room, updates: list[bytes], origin: Origin) -> None:
        self._applied.labels(_ORIGIN_KINDS.get(type(origin).__name__, "other")).inc(len(updates))

    def on_events(self, room: Room, changes: list[Change]) -> None:
        for change in changes:
            self._events.labels(change.type).inc()


_ORIGIN_KINDS = {
    "RestOrigin": "rest",
    "PeerOrigin": "peer",
    "RepairOrigin": "repair",
    "RemoteOrigin": "remote",
    "LoadOrigin": "load",
}
