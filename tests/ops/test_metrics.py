"""``/metrics`` (CONTRACT §10): scrape, act, scrape again; the series moved by what was done."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import websockets

from server.engine.bus import LocalBus
from server.engine.metrics import MeteredBus, Metrics
from tests.conftest import ROOT, ServerProcess

from .scrape import moved, scrape, scrape_until, value

REQUESTS = "playsync_http_requests_total"
ROUTE = "/api/playlists/<name>/"


def test_rest_requests_are_counted_by_route_and_status_and_each_write_commits_once(
    server: ServerProcess, api: httpx.Client, playlist: str
):
    before = scrape(server.base_url)
    for track_id in (1, 2, 3):
        assert (
            api.post(f"/api/playlists/{playlist}/", json={"track_id": track_id}).status_code == 201
        )
    assert api.post(f"/api/playlists/{playlist}/", json={"track_id": 1}).status_code == 400
    assert api.get(f"/api/playlists/{playlist}/nope/").status_code == 404
    assert api.get(f"/api/playlists/{playlist}/").status_code == 200
    after = scrape(server.base_url)

    assert moved(before, after, REQUESTS, method="POST", route=ROUTE, status="201") == 3
    assert moved(before, after, REQUESTS, method="POST", route=ROUTE, status="400") == 1
    assert moved(before, after, REQUESTS, method="GET", route=ROUTE, status="200") == 1
    item_route = "/api/playlists/<name>/<item_id>/"
    assert moved(before, after, REQUESTS, method="GET", route=item_route, status="404") == 1
    duration = "playsync_http_request_duration_seconds_count"
    assert moved(before, after, duration, method="POST", route=ROUTE) == 4
    # Sequential writes: each answered after its own commit; the new playlist loaded once.
    assert moved(before, after, "playsync_commit_seconds_count") == 3
    assert moved(before, after, "playsync_room_loads_total") == 1
    assert moved(before, after, "playsync_updates_applied_total", origin="rest") == 3
    assert moved(before, after, "playsync_events_total", type="track.added") == 3
    assert value(after, "playsync_rooms_loaded") >= 1


def test_peers_and_listeners_are_gauged_while_connected(server: ServerProcess, playlist: str):
    async def scenario():
        before = scrape(server.base_url)
        async with (
            websockets.connect(f"{server.ws_url}/yjs/{playlist}") as peer,
            websockets.connect(f"{server.ws_url}/ws/playlists/{playlist}/") as listener,
        ):
            await peer.recv()  # sync step 1: the server has added the peer
            await listener.recv()  # connection.established: the listener is registered
            during = scrape(server.base_url)
        after = await asyncio.to_thread(
            scrape_until,
            server.base_url,
            lambda s: (
                value(s, "playsync_peers_connected") == value(before, "playsync_peers_connected")
                and value(s, "playsync_listeners_connected")
                == value(before, "playsync_listeners_connected")
            ),
        )
        return before, during, after

    before, during, after = asyncio.run(scenario())
    for gauge in ("playsync_peers_connected", "playsync_listeners_connected"):
        assert moved(before, during, gauge) == 1
        assert moved(before, after, gauge) == 0
    closed = "playsync_connections_closed_total"
    assert moved(before, after, closed, surface="yjs", code="1000") == 1


def test_a_refused_yjs_message_is_counted_by_reason(server: ServerProcess, playlist: str):
    async def scenario():
        before = scrape(server.base_url)
        async with websockets.connect(f"{server.ws_url}/yjs/{playlist}") as peer:
            await peer.send("text is not y-websocket")
            with_close = None
            try:
                while True:
                    await asyncio.wait_for(peer.recv(), 10)
            except websockets.ConnectionClosed as closed:
                with_close = closed.rcvd.code if closed.rcvd else None
        rejected = "playsync_updates_rejected_total"
        after = await asyncio.to_thread(
            scrape_until,
            server.base_url,
            lambda s: moved(before, s, rejected, reason="text_frame") >= 1,
        )
        return before, after, with_close

    before, after, code = asyncio.run(scenario())
    assert code == 1003
    assert moved(before, after, "playsync_updates_rejected_total", reason="text_frame") == 1
    assert (
        moved(before, after, "playsync_connections_closed_total", surface="yjs", code="1003") == 1
    )


def test_process_and_event_loop_series_are_exported(server: ServerProcess):
    samples = scrape(server.base_url)
    names = {name for name, _ in samples}
    assert {
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "python_info",
        "playsync_event_loop_lag_seconds",
        "playsync_rooms_loaded",
        "playsync_compactions_total",
        "playsync_catchups_total",
    } <= names
    assert value(samples, "playsync_event_loop_lag_seconds") >= 0


def test_the_grafana_dashboard_reads_only_series_the_server_exports():
    exported = set()
    for family in Metrics().registry.collect():
        if family.type == "counter":
            exported.add(f"{family.name}_total")
        elif family.type == "histogram":
            exported |= {f"{family.name}_{suffix}" for suffix in ("bucket", "count", "sum")}
        else:
            exported.add(family.name)
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(?:playsync|process)_[a-z_]+", target["expr"])
    }
    assert queried and queried <= exported, queried - exported


async def test_the_bus_wrapper_counts_what_members_publish_and_receive():
    metrics = Metrics()
    bus = MeteredBus(LocalBus(), metrics)
    got: list[bytes] = []

    class Receiver:
        def on_bus_update(self, version: int, update: bytes) -> None:
            got.append(update)

        def on_bus_awareness(self, update: bytes) -> None: ...

        def on_bus_presence_query(self) -> None: ...

        def on_bus_resubscribed(self) -> None: ...

    async with bus:
        first = bus.join("p", Receiver())
        bus.join("p", Receiver())
        first.publish_update(1, b"u1")
        first.publish_update(2, b"u2")
    assert got == [b"u1", b"u2"]
    samples = {
        (sample.name, tuple(sample.labels.values())): sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
    }
    assert samples[("playsync_bus_messages_total", ("published",))] == 2
    assert samples[("playsync_bus_messages_total", ("received",))] == 2
