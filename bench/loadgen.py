"""An HTTP/1.1 load generator: C keep-alive connections on asyncio, bounded in count and time.

    python -m bench.loadgen --port P --path /api/playlists/bench/ --concurrency 20
        [--method POST --body '{"direction": "up"}'] [--paths a,b,c] [--requests N]
        [--duration S]

Runs in its own process (the other core), so it does not compete with the server's event
loop. It speaks just enough HTTP/1.1 for this: requests with Content-Length, responses with
Content-Length or chunked bodies. Only 127.0.0.1 is ever targeted. Prints one JSON object:
requests sent and answered, failures by kind, statuses, requests per second, p50/p90/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

HOST = "127.0.0.1"
REQUEST_TIMEOUT = 30.0


@dataclass
class Budget:
    remaining: int
    stop_at: float
    sent: int = 0

    def take(self) -> int | None:
        if self.remaining <= 0 or time.perf_counter() >= self.stop_at:
            return None
        self.remaining -= 1
        self.sent += 1
        return self.sent - 1


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    ok: int = 0


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body, and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    keep_alive = headers.get("connection", "").lower() != "close"
    return status, body, keep_alive


def build_request(method: str, path: str, port: int, body: bytes | None) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: application/json\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode("latin-1") + b"\r\n" + (body or b"")


async def worker(
    port: int, requests: list[bytes], budget: Budget, stats: Stats, expect: set[int]
) -> None:
    reader = writer = None
    try:
        while (index := budget.take()) is not None:
            request = requests[index % len(requests)]
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, port)
                writer.write(request)
                status, _body, keep_alive = await asyncio.wait_for(
                    read_response(reader), REQUEST_TIMEOUT
                )
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                stats.errors[type(exc).__name__] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            stats.latencies.append(time.perf_counter() - started)
            stats.statuses[status] += 1
            if status in expect:
                stats.ok += 1
            if not keep_alive:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, int(-(-q * len(ordered) // 1)) - 1))
    return ordered[rank]


async def run(args: argparse.Namespace) -> dict:
    body = args.body.encode() if args.body is not None else None
    paths = args.paths.split(",") if args.paths else [args.path]
    requests = [build_request(args.method, path, args.port, body) for path in paths]
    expect = {int(s) for s in args.expect.split(",")}
    stats = Stats()
    started = time.perf_counter()
    budget = Budget(args.requests, started + args.duration)
    await asyncio.gather(
        *(worker(args.port, requests, budget, stats, expect) for _ in range(args.concurrency))
    )
    elapsed = time.perf_counter() - started
    answered = len(stats.latencies)
    ms = [x * 1000 for x in stats.latencies]
    return {
        "method": args.method,
        "path": args.path if not args.paths else f"{len(paths)} paths",
        "concurrency": args.concurrency,
        "sent": budget.sent,
        "answered": answered,
        "ok": stats.ok,
        "failed": budget.sent - stats.ok,
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "errors": dict(stats.errors),
        "seconds": elapsed,
        "rps": answered / elapsed if elapsed else None,
        "p50_ms": percentile(ms, 0.50),
        "p90_ms": percentile(ms, 0.90),
        "p99_ms": percentile(ms, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--path", default="/")
    parser.add_argument("--paths", help="comma-separated paths, used round-robin")
    parser.add_argument("--body")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10_000, help="at most this many")
    parser.add_argument("--duration", type=float, default=5.0, help="at most this long (s)")
    parser.add_argument("--expect", default="200", help="statuses that count as success")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
