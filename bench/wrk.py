"""``wrk`` as the REST load generator where a Python one would be the bottleneck.

With ``--workers 2`` on 2 cores the server wants both cores, and the asyncio load
generator (:mod:`bench.loadgen`) needs most of one to parse ~90 KB answers: it would
measure itself. wrk (C, one thread here) does the same work for a fraction of that.
Its results come in :mod:`bench.loadgen`'s shape, so rounds of either pool alike.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from .common import BENCH, HOST, run_json

SCRIPT = BENCH / "wrk_report.lua"


def wrk_version() -> str | None:
    """``wrk 4.1.0``-style, or None when wrk is not installed."""
    path = shutil.which("wrk")
    if path is None:
        return None
    done = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=10)
    found = re.search(r"\d+\.\d+(\.\d+)?", done.stdout + done.stderr)
    return f"wrk {found.group(0)}" if found else "wrk"


def wrk_load(
    port: int, path: str, *, concurrency: int, duration: float, requests: int, timeout: float
) -> dict:
    """GET ``path`` on ``concurrency`` keep-alive connections from one thread, for
    ``duration`` seconds (whole seconds, rounded up) and at most ``requests`` requests."""
    seconds = max(1, int(-(-duration // 1)))
    argv = [shutil.which("wrk") or "wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s"]
    argv += ["--timeout", "30s", "-s", str(SCRIPT), f"http://{HOST}:{port}{path}"]
    raw = run_json(argv, timeout=timeout, env={"WRK_MAX_REQUESTS": str(requests)})
    elapsed = raw["duration_us"] / 1e6
    errors = {kind: count for kind, count in raw["errors"].items() if count}
    answered = raw["requests"]
    return {
        "tool": "wrk",
        "method": "GET",
        "path": path,
        "concurrency": concurrency,
        "sent": answered,
        "answered": answered,
        "ok": answered - raw["errors"]["status"],
        "failed": sum(errors.values()),
        "statuses": {},
        "errors": errors,
        "seconds": elapsed,
        "rps": answered / elapsed if elapsed else None,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "budget_reached": answered >= requests,
    }
