"""REST: the legacy API against the framework's own ceiling, in one server process.

The bench app (:mod:`bench.app`: the real app plus ``/bench/noop``) serves a playlist
``bench`` of 200 items, made through the API itself. A load generator in its own
process (:mod:`bench.loadgen`, 20 keep-alive connections) alternates, round by round,
between a real route and the trivial one (A B, then B A), so both see the same machine:

- reads:  ``GET /api/playlists/bench/`` against ``GET /bench/noop``
- votes:  ``POST /api/playlists/bench/{id}/vote/`` (spread over the 200 items) against
          ``POST /bench/noop`` with the same body; afterwards the sum of all votes must
          have grown by exactly the number of 200 answers (none lost), and no request
          may fail
- durability: one client, one write at a time: a vote's p50 (answered only once its
  change is committed, ``synchronous=FULL``) against the noop POST's p50 and against a
  bare SQLite commit of the same kind (WAL, ``synchronous=FULL``) on the same disk
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

import httpx

from .app import NOOP_PATH
from .common import (
    HOST,
    Service,
    add_library_tracks,
    log,
    median,
    percentile,
    playsync_service,
    ratio,
    rss_bytes,
    run_json,
)

PLAYLIST = "bench"
ITEMS = 200
LIST_PATH = f"/api/playlists/{PLAYLIST}/"
VOTE_BODY = json.dumps({"direction": "up"})


def _load(service: Service, *, timeout: float, **options) -> dict:
    argv = [sys.executable, "-m", "bench.loadgen", "--port", str(service.port)]
    for key, value in options.items():
        if value is not None:
            argv += [f"--{key.replace('_', '-')}", str(value)]
    return run_json(argv, timeout=timeout)


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
    return {
        "rounds": len(phases),
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
    }


def rest_section(
    workdir: Path, *, rounds: int, seconds: float, votes_per_round: int, profiler=None
) -> dict:
    database = workdir / "rest.db"
    track_ids = add_library_tracks(database, ITEMS)
    service = playsync_service(workdir, "playsync-rest", database, bench_app=True)
    service.start()
    try:
        with httpx.Client(base_url=f"http://{HOST}:{service.port}", timeout=30) as client:
            setup = _make_playlist(client, track_ids)
            base_total, item_ids = _total_votes(client)
        vote_paths = ",".join(f"{LIST_PATH}{item_id}/vote/" for item_id in item_ids)
        timeout = seconds * 4 + 60
        log("rest: warm-up")
        for options in (
            {"path": NOOP_PATH},
            {"path": LIST_PATH},
            {"path": NOOP_PATH, "method": "POST", "body": VOTE_BODY},
        ):
            _load(service, timeout=timeout, requests=300, duration=seconds, **options)
        warm_votes = _load(
            service,
            timeout=timeout,
            requests=100,
            duration=seconds,
            method="POST",
            body=VOTE_BODY,
            paths=vote_paths,
        )

        reads: dict[str, list[dict]] = {"noop": [], "list": []}
        profiling = profiler("rest-get", service.pid) if profiler else contextlib.nullcontext()
        with profiling:
            for which in _pairs(rounds, "noop", "list"):
                path = NOOP_PATH if which == "noop" else LIST_PATH
                reads[which].append(
                    _load(service, timeout=timeout, path=path, requests=100_000, duration=seconds)
                )
                log(f"rest: GET {which}: {reads[which][-1]['rps']:.0f}/s")

        writes: dict[str, list[dict]] = {"noop": [], "vote": []}
        profiling = profiler("rest-vote", service.pid) if profiler else contextlib.nullcontext()
        with profiling:
            for which in _pairs(rounds, "noop", "vote"):
                if which == "noop":
                    options = {"path": NOOP_PATH, "requests": 100_000}
                else:
                    options = {"paths": vote_paths, "requests": votes_per_round}
                writes[which].append(
                    _load(
                        service,
                        timeout=timeout,
                        method="POST",
                        body=VOTE_BODY,
                        duration=seconds * 3 if which == "vote" else seconds,
                        **options,
                    )
                )
                log(f"rest: POST {which}: {writes[which][-1]['rps']:.0f}/s")

        log("rest: one client, one durable write at a time")
        single: dict[str, list[dict]] = {"noop": [], "vote": []}
        for which in _pairs(rounds, "noop", "vote"):
            options = {"path": NOOP_PATH} if which == "noop" else {"paths": vote_paths}
            single[which].append(
                _load(
                    service,
                    timeout=timeout,
                    method="POST",
                    body=VOTE_BODY,
                    concurrency=1,
                    requests=150,
                    duration=seconds,
                    **options,
                )
            )
        with httpx.Client(base_url=f"http://{HOST}:{service.port}", timeout=30) as client:
            final_total, _ = _total_votes(client)
        bare_commit = _bare_commit_p50(workdir, 150, 120)
        rss = rss_bytes(service.pid)
    finally:
        service.stop()

    read_noop, read_list = _combine(reads["noop"]), _combine(reads["list"])
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
        "concurrency": 20,
        "setup": setup,
        "get_list": read_list,
        "get_noop": read_noop,
        "get_ratio": ratio(read_list["rps"], read_noop["rps"]),
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
