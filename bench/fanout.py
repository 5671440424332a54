"""Fan-out: playsync against the reference y-websocket server, side by side.

For each N, both servers start fresh (playsync: ``playsync serve`` on a temp SQLite file;
reference: ``@y/websocket-server`` 0.1.1, in memory), and one Node process
(``bench/fanout.mjs``) runs the rounds against both, interleaved. See fanout.mjs for
what each phase measures.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from .common import (
    BENCH,
    REFERENCE_SERVER,
    Service,
    log,
    median,
    percentile,
    playsync_service,
    ratio,
    reference_service,
    run_json,
    seed_tracks,
    services,
)

PLAYSYNC, REFERENCE = "playsync", "reference"
NODEFLATE = "playsync-nodeflate"
"""Diagnostic variant: playsync with peers that do not offer permessage-deflate."""
NOGATE = "playsync-nogate"
"""Variant: playsync with the gate off (``--no-check-updates``), to price the gate (CONTRACT §9)."""
UVLOOP = "playsync-uvloop"
"""Diagnostic variant: playsync on uvloop (``--event-loop uvloop``), against asyncio."""


def _node_argv(targets, *, awareness: bool = False, **options) -> list[str]:
    argv = [shutil.which("node") or "node", str(BENCH / "fanout.mjs")]
    for service, url in targets:
        flags = ",nodeflate" if service.name == NODEFLATE else ""
        argv += ["--server", f"{service.name}={url},{service.pid}{flags}"]
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    if awareness:
        argv.append("--awareness")
    return argv


def _start_set(
    workdir: Path, tag: str, *, nodeflate: bool = False, nogate: bool = False, uvloop: bool = False
) -> list[Service]:
    database = workdir / f"fanout-{tag}.db"
    seed_tracks(database)
    started = [playsync_service(workdir, PLAYSYNC, database)]
    started.append(reference_service(workdir, REFERENCE))
    for variant, wanted, extra in (
        (NODEFLATE, nodeflate, []),
        (NOGATE, nogate, ["--no-check-updates"]),
        (UVLOOP, uvloop, ["--event-loop", "uvloop"]),
    ):
        if wanted:
            other = workdir / f"fanout-{tag}-{variant}.db"
            seed_tracks(other)
            started.append(playsync_service(workdir, variant, other, extra=extra))
    return started


def _urls(started: list[Service]):
    return [
        (s, f"ws://127.0.0.1:{s.port}" + ("" if s.name == REFERENCE else "/yjs")) for s in started
    ]


def _summary(runs: list[dict], server: str, n: int) -> dict:
    """One server at one N over the rounds: each figure per round, then the median of the
    rounds (issue 14: a shared machine makes single rounds noisy); pooled figures as context."""
    mine = [r for r in runs if r["server"] == server and r["n"] == n and "error" not in r]
    latencies = [r.get("latency") or {} for r in mine]
    samples = [x for lat in latencies for x in lat.get("samples_ms", [])]
    joins = [r["join"] for r in mine]
    bursts = [r["burst"] for r in mine if r.get("burst")]
    per_peer = [
        (r["rss_after"] - r["rss_before"]) / n
        for r in mine
        if r.get("rss_after") and r.get("rss_before")
    ]
    join_seconds = [j["seconds"] for j in joins]
    return {
        "rounds": len(mine),
        "errors": [
            r["error"] for r in runs if r["server"] == server and r["n"] == n and "error" in r
        ],
        "latency_samples": len(samples),
        "latency_missed": sum(lat.get("missed", 0) for lat in latencies),
        "latency_p50_ms_rounds": [lat.get("p50_ms") for lat in latencies],
        "latency_p99_ms_rounds": [lat.get("p99_ms") for lat in latencies],
        "latency_p50_ms": median([lat.get("p50_ms") for lat in latencies]),
        "latency_p99_ms": median([lat.get("p99_ms") for lat in latencies]),
        "latency_p50_pooled_ms": percentile(samples, 0.5),
        "latency_p99_pooled_ms": percentile(samples, 0.99),
        "burst_deliveries_per_second": median(
            [b["deliveries_per_second"] for b in bursts if b["deliveries_per_second"]]
        ),
        # Per round, over peers: time from the burst's start until a peer has its last update.
        "burst_p50_ms": median([b.get("peer_final_p50_ms") for b in bursts]),
        "burst_p99_ms": median([b.get("peer_final_p99_ms") for b in bursts]),
        "burst_complete": all(b["reached_final"] == b["peers"] for b in bursts) and bool(bursts),
        "burst_rounds": bursts,
        "join_all_synced": all(j["all_synced"] for j in joins) and bool(joins),
        "join_seconds_rounds": join_seconds,
        # Until the last of the N peers synced; None in a round where not all did.
        "join_seconds": median(join_seconds) if None not in join_seconds else None,
        "join_seconds_max": max((j["seconds"] for j in joins if j["seconds"]), default=None),
        "join_synced_min": min((j["synced"] for j in joins), default=0),
        "join_synced_within_10s_min": min((j["synced_within_10s"] for j in joins), default=0),
        "join_rounds": joins,
        "disconnects": sum(r.get("disconnects", 0) for r in mine),
        "rss_per_peer_bytes": median(per_peer),
        "server_cpu_seconds": [r.get("server_cpu_seconds") for r in mine],
    }


def _ratios(a: dict, b: dict) -> dict[str, float | None]:
    """``a`` ÷ ``b`` for each figure, medians of the rounds (burst: deliveries per second)."""
    return {
        "latency_p50_ratio": ratio(a["latency_p50_ms"], b["latency_p50_ms"]),
        "latency_p99_ratio": ratio(a["latency_p99_ms"], b["latency_p99_ms"]),
        "burst_ratio": ratio(a["burst_deliveries_per_second"], b["burst_deliveries_per_second"]),
        "burst_p50_ratio": ratio(a["burst_p50_ms"], b["burst_p50_ms"]),
        "burst_p99_ratio": ratio(a["burst_p99_ms"], b["burst_p99_ms"]),
        "join_ratio": ratio(a["join_seconds"], b["join_seconds"]),
    }


def fanout_section(
    workdir: Path,
    *,
    sizes: list[int],
    rounds: int,
    latency_updates: int,
    burst: dict[int, int],
    join_timeout: float,
    idle_rooms: int,
    awareness: bool = False,
    nodeflate: bool = False,
    nogate: bool = False,
    uvloop: bool = False,
    profiler=None,
) -> dict:
    if not REFERENCE_SERVER.exists():
        raise RuntimeError("bench/node_modules is missing: run `cd bench && npm ci` (make bench)")
    result: dict = {"awareness": awareness, "sizes": {}, "raw": []}
    if idle_rooms:
        started = _start_set(workdir, "rooms")
        with services(*started):
            log(f"fan-out: {idle_rooms} idle rooms of 200 items on each server")
            report = run_json(
                _node_argv(_urls(started), sizes="", rooms=idle_rooms, items=200), timeout=600
            )
        rooms = {r["server"]: r for r in report["idle_rooms"]}
        result["idle_rooms"] = {
            **rooms,
            "ratio": ratio(rooms[PLAYSYNC]["per_room_bytes"], rooms[REFERENCE]["per_room_bytes"]),
        }
    for n in sizes:
        started = _start_set(workdir, f"n{n}", nodeflate=nodeflate, nogate=nogate, uvloop=uvloop)
        with services(*started):
            log(f"fan-out: N={n}, {rounds} round(s) per server, interleaved")
            argv = _node_argv(
                _urls(started),
                awareness=awareness,
                sizes=n,
                rounds=rounds,
                latency_updates=latency_updates,
                burst=burst[n],
                join_timeout=join_timeout,
                deadline=900,
            )
            with contextlib.ExitStack() as stack:
                for service in started if profiler else ():
                    if service.name != REFERENCE:
                        stack.enter_context(profiler(f"fanout-n{n}-{service.name}", service.pid))
                report = run_json(argv, timeout=1200)
        runs = report["runs"]
        result["raw"].extend(runs)
        mine, ref = _summary(runs, PLAYSYNC, n), _summary(runs, REFERENCE, n)
        result["sizes"][str(n)] = {
            PLAYSYNC: mine,
            REFERENCE: ref,
            **_ratios(mine, ref),
            "rss_per_peer_ratio": ratio(mine["rss_per_peer_bytes"], ref["rss_per_peer_bytes"]),
        }
        if nodeflate:
            variant = _summary(runs, NODEFLATE, n)
            result["sizes"][str(n)][NODEFLATE] = variant
            result["sizes"][str(n)]["nodeflate_ratios"] = {
                key.removesuffix("_ratio"): value for key, value in _ratios(variant, ref).items()
            }
        if nogate:
            # The gate's price on fan-out (issue 9: within 15% with it on): gated ÷ ungated.
            variant = _summary(runs, NOGATE, n)
            result["sizes"][str(n)][NOGATE] = variant
            result["sizes"][str(n)]["gate_ratios"] = {
                key.removesuffix("_ratio"): value for key, value in _ratios(mine, variant).items()
            }
        if uvloop:
            variant = _summary(runs, UVLOOP, n)
            result["sizes"][str(n)][UVLOOP] = variant
            result["sizes"][str(n)]["uvloop_ratios"] = {  # uvloop ÷ asyncio
                key.removesuffix("_ratio"): value for key, value in _ratios(variant, mine).items()
            }
        for run in runs:
            (run.get("latency") or {}).pop("samples_ms", None)
    return result
