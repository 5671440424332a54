"""REST: the legacy API against the framework's own ceiling, side by side in one run.

The bench app (:mod:`bench.app`: the real app plus ``/bench/noop``, one worker) serves
the playlist ``default`` of 200 items, made through the API itself, at ``/api/playlist/``
(the route the original frontend reads, CONTRACT §2). On the same database, in the same
run, ``playsync serve`` also serves it with ``--paginate`` (the frontend's envelope: the
first page of 100 and ``count``), with ``--workers 2``, and with both. Load generators
run in their own process (20 keep-alive connections) and alternate, round by round
(A B C …, then … C B A), so all series see the same machine:

- reads:  ``GET /api/playlist/`` on each of the four servers against ``GET /bench/noop``
          on the one-worker bench app (issue 14: ≥ 1x it on one worker, ≥ 1.7x with two);
          driven by wrk (:mod:`bench.wrk`) when installed: with two workers on two cores
          the Python load generator would be the bottleneck. The load generator's CPU
          (in cores) is recorded for every series, as the check.
- votes:  ``POST /api/playlist/{id}/vote/`` (spread over the 200 items) against
          ``POST /bench/noop`` with the same body, one worker; afterwards the sum of all
          votes must have grown by exactly the number of 200 answers (none lost), and no
          request may fail (:mod:`bench.loadgen`, which counts every request)
- durability: one client, one write at a time: a vote's p50 (answered only once its
  change is committed, ``synchronous=FULL``) against the noop POST's p50 and against a
  bare SQLite commit of the same kind (WAL, ``synchronous=FULL``) on the same disk
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from .app import NOOP_PATH
from .common import (
    HOST,
    Service,
    add_library_tracks,
    listening_sockets,
    log,
    median,
    percentile,
    playsync_service,
    ratio,
    rss_bytes,
    run_json,
    tree_cpu_seconds,
)
from .wrk import wrk_load, wrk_version

ITEMS = 200
LIST_PATH = "/api/playlist/"  # the playlist named default (CONTRACT §2)
VOTE_BODY = json.dumps({"direction": "up"})
CONCURRENCY = 20
SATURATED = 0.9
"""A single-threaded load generator using this share of a core is likely the bottleneck."""


@dataclass(frozen=True)
class Variant:
    """One way of serving ``GET /api/playlist/``, and the issue-14 rule for it."""

    key: str
    label: str
    flags: tuple[str, ...]
    workers: int
    paginate: bool
    at_least: float  # times the trivial route on one worker


VARIANTS = (
    Variant("default", "one worker", (), 1, False, 1.0),
    Variant("paginate", "one worker, --paginate", ("--paginate",), 1, True, 1.0),
    Variant("workers2", "--workers 2", ("--workers", "2"), 2, False, 1.7),
    Variant(
        "workers2_paginate",
        "--workers 2 --paginate",
        ("--workers", "2", "--paginate"),
        2,
        True,
        1.7,
    ),
)


def _load(service: Service, *, timeout: float, **options) -> dict:
    argv = [sys.executable, "-m", "bench.loadgen", "--port", str(service.port)]
    for key, value in options.items():
        if value is not None:
            argv += [f"--{key.replace('_', '-')}", str(value)]
    result = run_json(argv, timeout=timeout)
    result["tool"] = "python"
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measured(service: Service, run: Callable[[], dict]) -> dict:
    """Run one load; add the cores its load generator and the server used meanwhile."""
    tool_before, server_before = _children_cpu(), tree_cpu_seconds(service.pid)
    result = run()
    tool_cpu = _children_cpu() - tool_before  # the load generator is the child reaped here
    server_after = tree_cpu_seconds(service.pid)
    seconds = result["seconds"] or None
    result["load_generator_cores"] = tool_cpu / seconds if seconds else None
    result["server_cores"] = (
        (server_after - server_before) / seconds
        if seconds and server_before is not None and server_after is not None
        else None
    )
    return result


def _get(service: Service, path: str, *, seconds: float, requests: int, tool: str) -> dict:
    timeout = seconds * 4 + 60
    if tool == "wrk":
        return _measured(
            service,
            lambda: wrk_load(
                service.port,
                path,
                concurrency=CONCURRENCY,
                duration=seconds,
                requests=requests,
                timeout=timeout,
            ),
        )
    return _measured(
        service,
        lambda: _load(service, timeout=timeout, path=path, requests=requests, duration=seconds),
    )


def _wait_for_workers(service: Service, workers: int, timeout: float = 30.0) -> None:
    """``--workers N`` answers /health once one worker listens; wait for all N."""
    deadline = time.monotonic() + timeout
    while listening_sockets(service.port) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{service.name}: {workers} workers did not all listen")
        time.sleep(0.05)


def _total_votes(client: httpx.Client) -> tuple[int, list[str]]:
    items = client.get(LIST_PATH).json()
    return sum(item["votes"] for item in items), [item["id"] for item in items]


def _make_playlist(client: httpx.Client, track_ids: list[int]) -> dict:
    latencies = []
    for track_id in track_ids[:ITEMS]:
        started = time.perf_counter()
        response = client.post(LIST_PATH, json={"track_id": track_id, "added_by": "bench"})
        latencies.append(time.perf_counter() - started)
        response.raise_for_status()
    return {"adds": len(latencies), "add_p50_ms": percentile(latencies, 0.5) * 1000}


def _bare_commit_p50(directory: Path, count: int, size: int) -> float:
    """p50 of one INSERT + COMMIT with the server's SQLite settings (WAL, synchronous=FULL)."""
    path = directory / "bare-commit.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, data BLOB)")
        samples = []
        for _ in range(count):
            payload = os.urandom(size)
            started = time.perf_counter()
            conn.execute("BEGIN")
            conn.execute("INSERT INTO log (data) VALUES (?)", (payload,))
            conn.execute("COMMIT")
            samples.append(time.perf_counter() - started)
    finally:
        conn.close()
    return percentile(samples, 0.5)


def _pairs(rounds: int, a: str, b: str) -> list[str]:
    order = []
    for r in range(rounds):
        order += [a, b] if r % 2 == 0 else [b, a]
    return order


def _combine(phases: list[dict]) -> dict:
    """Pool the rounds of one route: total answered / total time, and median percentiles."""
    seconds = sum(p["seconds"] for p in phases)
    answered = sum(p["answered"] for p in phases)
    tool_cores = [p.get("load_generator_cores") for p in phases]
    return {
        "rounds": len(phases),
        "tool": phases[0].get("tool") if phases else None,
        "sent": sum(p["sent"] for p in phases),
        "answered": answered,
        "ok": sum(p["ok"] for p in phases),
        "failed": sum(p["failed"] for p in phases),
        "errors": [p["errors"] for p in phases if p["errors"]],
        "statuses": [p["statuses"] for p in phases],
        "rps": answered / seconds if seconds else None,
        "rps_rounds": [p["rps"] for p in phases],
        "p50_ms": median([p["p50_ms"] for p in phases]),
        "p99_ms": median([p["p99_ms"] for p in phases]),
        "load_generator_cores_max": max((c for c in tool_cores if c is not None), default=None),
        "server_cores": median([p.get("server_cores") for p in phases]),
    }


def _check_pages(servers: dict[str, Service]) -> dict[str, dict]:
    """What each server's GET answers: the plain array, or the envelope's first page."""
    shapes = {}
    for key, service in servers.items():
        with httpx.Client(base_url=f"http://{HOST}:{service.port}", timeout=30) as client:
            body = client.get(LIST_PATH).json()
        if isinstance(body, list):
            shapes[key] = {"items": len(body)}
        else:
            shapes[key] = {"count": body["count"], "results": len(body["results"])}
    return shapes


def _reads(
    one: Service, servers: dict[str, Service], *, rounds: int, seconds: float, tool: str
) -> dict[str, list[dict]]:
    """Every GET series, interleaved: noop and the four variants, then in reverse."""
    series = [("noop", one, NOOP_PATH)] + [(key, s, LIST_PATH) for key, s in servers.items()]
    reads: dict[str, list[dict]] = {key: [] for key, _, _ in series}
    for r in range(rounds):
        for key, service, path in series if r % 2 == 0 else series[::-1]:
            result = _get(service, path, seconds=seconds, requests=100_000, tool=tool)
            reads[key].append(result)
            log(
                f"rest: GET {key}: {result['rps']:.0f}/s (load generator "
                f"{result['load_generator_cores'] or 0:.2f} cores, server "
                f"{result['server_cores'] or 0:.2f})"
            )
    return reads


def rest_section(
    workdir: Path, *, rounds: int, seconds: float, votes_per_round: int, profiler=None
) -> dict:
    database = workdir / "rest.db"
    track_ids = add_library_tracks(database, ITEMS)
    version = wrk_version()
    tool = "wrk" if version else "python"
    one = playsync_service(workdir, "playsync-rest", database, bench_app=True)
    others = {
        v.key: playsync_service(workdir, f"playsync-rest-{v.key}", database, extra=list(v.flags))
        for v in VARIANTS[1:]
    }
    one.start()
    try:
        with httpx.Client(base_url=f"http://{HOST}:{one.port}", timeout=30) as client:
            setup = _make_playlist(client, track_ids)
            base_total, item_ids = _total_votes(client)
        vote_paths = ",".join(f"{LIST_PATH}{item_id}/vote/" for item_id in item_ids)
        timeout = seconds * 4 + 60

        with contextlib.ExitStack() as stack:
            for variant in VARIANTS[1:]:
                service = others[variant.key]
                service.start()
                stack.callback(service.stop)
                _wait_for_workers(service, variant.workers)
            servers = {"default": one, **others}
            pages = _check_pages(servers)
            log(f"rest: warm-up ({tool} for GET)")
            _get(one, NOOP_PATH, seconds=seconds, requests=300, tool=tool)
            for service in servers.values():
                _get(service, LIST_PATH, seconds=seconds, requests=600, tool=tool)
            profiling = profiler("rest-get", one.pid) if profiler else contextlib.nullcontext()
            with profiling:
                reads = _reads(one, servers, rounds=rounds, seconds=seconds, tool=tool)

        _load(
            one,
            timeout=timeout,
            requests=300,
            duration=seconds,
            method="POST",
            body=VOTE_BODY,
            path=NOOP_PATH,
        )
        warm_votes = _load(
            one,
            timeout=timeout,
            requests=100,
            duration=seconds,
            method="POST",
            body=VOTE_BODY,
            paths=vote_paths,
        )
        writes: dict[str, list[dict]] = {"noop": [], "vote": []}
        profiling = profiler("rest-vote", one.pid) if profiler else contextlib.nullcontext()
        with profiling:
            for which in _pairs(rounds, "noop", "vote"):
                if which == "noop":
                    options = {"path": NOOP_PATH, "requests": 100_000}
                else:
                    options = {"paths": vote_paths, "requests": votes_per_round}
                writes[which].append(
                    _measured(
                        one,
                        lambda options=options, which=which: _load(
                            one,
                            timeout=timeout,
                            method="POST",
                            body=VOTE_BODY,
                            duration=seconds * 3 if which == "vote" else seconds,
                            **options,
                        ),
                    )
                )
                log(f"rest: POST {which}: {writes[which][-1]['rps']:.0f}/s")

        log("rest: one client, one durable write at a time")
        single: dict[str, list[dict]] = {"noop": [], "vote": []}
        for which in _pairs(rounds, "noop", "vote"):
            options = {"path": NOOP_PATH} if which == "noop" else {"paths": vote_paths}
            single[which].append(
                _load(
                    one,
                    timeout=timeout,
                    method="POST",
                    body=VOTE_BODY,
                    concurrency=1,
                    requests=150,
                    duration=seconds,
                    **options,
                )
            )
        with httpx.Client(base_url=f"http://{HOST}:{one.port}", timeout=30) as client:
            final_total, _ = _total_votes(client)
        bare_commit = _bare_commit_p50(workdir, 150, 120)
        rss = rss_bytes(one.pid)
    finally:
        one.stop()
        for service in others.values():
            service.stop()

    read_noop = _combine(reads["noop"])
    variants = {}
    for variant in VARIANTS:
        combined = _combine(reads[variant.key])
        variants[variant.key] = {
            "label": variant.label,
            "workers": variant.workers,
            "paginate": variant.paginate,
            "answer": pages[variant.key],
            "rule_at_least": variant.at_least,
            **combined,
            "ratio": ratio(combined["rps"], read_noop["rps"]),
        }
    tool_cores = [s["load_generator_cores_max"] for s in [read_noop, *variants.values()]]
    busiest = max((c for c in tool_cores if c is not None), default=None)
    write_noop, write_vote = _combine(writes["noop"]), _combine(writes["vote"])
    single_noop, single_vote = _combine(single["noop"]), _combine(single["vote"])
    ok_votes = (
        warm_votes["ok"]
        + sum(p["ok"] for p in writes["vote"])
        + sum(p["ok"] for p in single["vote"])
    )
    sent_votes = (
        warm_votes["sent"]
        + sum(p["sent"] for p in writes["vote"])
        + sum(p["sent"] for p in single["vote"])
    )
    return {
        "playlist_items": ITEMS,
        "list_path": LIST_PATH,
        "concurrency": CONCURRENCY,
        "setup": setup,
        "get_load_generator": {
            "tool": version or "python (bench.loadgen)",
            "note": None
            if version
            else "wrk is not installed (apt-get install -y wrk): the Python load generator "
            "may be the bottleneck with --workers 2",
            "max_cores": busiest,
            "saturated": busiest is not None and busiest >= SATURATED,
        },
        "get_noop": read_noop,
        "get_variants": variants,
        "vote": write_vote,
        "post_noop": write_noop,
        "vote_ratio": ratio(write_vote["rps"], write_noop["rps"]),
        "votes_check": {
            "sent": sent_votes,
            "answered_200": ok_votes,
            "failed": sent_votes - ok_votes,
            "total_before": base_total,
            "total_after": final_total,
            "lost": base_total + ok_votes - final_total,
        },
        "durable_write": {
            "vote_p50_ms": single_vote["p50_ms"],
            "noop_post_p50_ms": single_noop["p50_ms"],
            "bare_sqlite_commit_p50_ms": bare_commit * 1000,
            "vote_over_noop": ratio(single_vote["p50_ms"], single_noop["p50_ms"]),
            "vote_over_bare_commit": ratio(single_vote["p50_ms"], bare_commit * 1000),
            "vote_failed": single_vote["failed"],
        },
        "server_rss_bytes": rss,
    }
