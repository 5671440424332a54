"""Several processes (CONTRACT §7), measured as ratios within one run.

``python -m bench --only split`` (a section of ``make bench``), or alone:
``python -m bench.multiprocess [--peers 100] [--rounds 2]``

1. Fan-out: one Yjs writer on process A and N peers, all on A (one process), or split
   between A and B (two processes on one PostgreSQL database and one Redis), interleaved
   round by round (one, two; then two, one: ``bench/split_fanout.mjs``). Issue 14: the
   split p50 (the median over rounds of each run's p50) at most 1.3 times the one-process p50.
2. Convergence: how long a REST write on A takes to be listed by B, through Redis; with
   Redis down (the database catch-up alone); and right after Redis restarts.

Needs PostgreSQL (``PLAYSYNC_TEST_POSTGRES``, default the local ``postgres`` database),
``redis-server`` and ``bench/node_modules`` (``make bench`` installs it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from .common import BENCH, Service, free_port, log, median, ratio, run_json

VISIBLE_WITHIN = 10.0
"""Seconds a write on A may take to be listed by B (CONTRACT §7 promises 1)."""
POSTGRES = os.environ.get("PLAYSYNC_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


class Redis:
    def __init__(self, workdir: Path) -> None:
        self.port, self.workdir = free_port(), workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(200):
            done = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True)
            if done.stdout.strip() == b"PONG":
                return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)


def _database() -> tuple[str, str]:
    name = f"playsync_bench_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", POSTGRES, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    base = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    url = f"{base}/{name}"
    subprocess.run(
        [sys.executable, "-m", "server.cli", "seed", "--tracks-only", "--database-url", url],
        check=True,
        capture_output=True,
    )
    return name, url


def _server(workdir: Path, name: str, database_url: str, redis_url: str | None) -> Service:
    port = free_port()
    argv = [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--no-seed"]
    argv += ["--database-url", database_url]
    if redis_url:
        argv += ["--redis-url", redis_url]
    return Service(name, argv, port, workdir / f"{name}.log").start()


def _ws(service: Service) -> str:
    return f"ws://127.0.0.1:{service.port}/yjs"


def _fanout(writer: Service, peers: list[Service], count: int, updates: int, burst: int) -> dict:
    argv = [shutil.which("node") or "node", str(BENCH / "split_fanout.mjs")]
    argv += ["--writer", _ws(writer), "--peers", ",".join(_ws(p) for p in peers)]
    argv += ["--count", str(count), "--room", f"split-{uuid.uuid4().hex[:8]}"]
    argv += ["--updates", str(updates), "--burst", str(burst)]
    return run_json(argv, timeout=300)


def _visible_after(a: Service, b: Service, name: str, track_id: int) -> float:
    """Seconds from a REST add on A (acknowledged) until B lists the item."""
    with httpx.Client(timeout=30) as client:
        start = time.perf_counter()
        added = client.post(
            f"http://127.0.0.1:{a.port}/api/playlists/{name}/", json={"track_id": track_id}
        )
        added.raise_for_status()
        item_id = added.json()["id"]
        while time.perf_counter() - start < VISIBLE_WITHIN:
            items = client.get(f"http://127.0.0.1:{b.port}/api/playlists/{name}/").json()
            if any(item["id"] == item_id for item in items):
                return time.perf_counter() - start
            time.sleep(0.005)
    raise RuntimeError(f"B did not list a write made on A within {VISIBLE_WITHIN} s")


def _missing_tools() -> list[str]:
    return [
        tool for tool in ("psql", "redis-server", "redis-cli", "node") if not shutil.which(tool)
    ]


def split_section(
    workdir: Path, *, peers: int = 100, rounds: int = 2, updates: int = 30, burst: int = 100
) -> dict:
    missing = _missing_tools()
    if missing:
        raise RuntimeError(f"the split section needs {', '.join(missing)} (and PostgreSQL)")
    redis = Redis(workdir)
    redis.start()
    db_name = None
    a = b = None
    result: dict = {"peers": peers, "updates": updates, "burst": burst, "rounds": []}
    try:
        db_name, url = _database()
        a = _server(workdir, "split-a", url, redis.url)
        b = _server(workdir, "split-b", url, redis.url)
        for n in range(rounds):
            log(f"split: fan-out round {n + 1} of {rounds}, {peers} peers")
            # one, two; then two, one: a drift in the machine's speed falls on both alike.
            order = (
                ("one_process", "two_processes") if n % 2 == 0 else ("two_processes", "one_process")
            )
            runs = {}
            for which in order:
                runs[which] = _fanout(
                    a, [a] if which == "one_process" else [a, b], peers, updates, burst
                )
                log(
                    f"split: {which}: p50 {runs[which]['latency_ms_median']:.1f} ms, burst "
                    f"{runs[which]['burst_deliveries_per_second']:.0f}/s"
                )
            result["rounds"].append(
                {"one_process": runs["one_process"], "two_processes": runs["two_processes"]}
            )
        for key in ("latency_ms_median", "latency_ms_p95", "burst_deliveries_per_second"):
            ones = [r["one_process"][key] for r in result["rounds"]]
            twos = [r["two_processes"][key] for r in result["rounds"]]
            result[key] = {"one_process": median(ones), "two_processes": median(twos)}
            result[f"{key}_two_over_one"] = ratio(median(twos), median(ones))

        log("split: convergence of REST writes between the processes")
        name = f"conv-{uuid.uuid4().hex[:6]}"
        _visible_after(a, b, name, 1)  # loads the playlist on both
        through_redis = [_visible_after(a, b, name, t) for t in range(2, 7)]
        redis.stop()
        redis_down = [_visible_after(a, b, name, t) for t in range(7, 12)]
        after_restart = []
        for t in range(12, 17):
            redis.stop()
            redis.start()
            after_restart.append(_visible_after(a, b, name, t))
        result["convergence_seconds"] = {
            "through_redis_median": median(through_redis),
            "redis_down_median": median(redis_down),
            "redis_down_max": max(redis_down),
            "right_after_redis_restart_median": median(after_restart),
            "right_after_redis_restart_max": max(after_restart),
        }
    finally:
        for server in (a, b):
            if server is not None:
                server.stop()
        redis.stop()
        if db_name is not None:
            subprocess.run(
                ["psql", POSTGRES, "-qc", f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'],
                capture_output=True,
            )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.multiprocess", description=__doc__)
    parser.add_argument("--peers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--updates", type=int, default=30, help="latency samples per run")
    parser.add_argument("--burst", type=int, default=100, help="votes per burst")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-mp-") as workdir:
        result = split_section(
            Path(workdir),
            peers=args.peers,
            rounds=args.rounds,
            updates=args.updates,
            burst=args.burst,
        )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
