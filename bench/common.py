"""What every benchmark section shares: processes, ports, readings from /proc, statistics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
NODE_MODULES = BENCH / "node_modules"
REFERENCE_SERVER = NODE_MODULES / "@y" / "websocket-server" / "src" / "server.js"
HOST = "127.0.0.1"  # every load loop targets loopback only


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# -- statistics ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, int(-(-q * len(ordered) // 1)) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


# -- /proc readings --------------------------------------------------------------------------


def rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and of its live descendants (``--workers``)."""
    own = cpu_seconds(pid)
    if own is None:
        return None
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return own + sum(tree_cpu_seconds(int(child)) or 0.0 for child in children)


def listening_sockets(port: int) -> int:
    """Listening TCP sockets on ``port`` (several with SO_REUSEPORT: one per worker)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state = fields[1], fields[3]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


def settle(
    pid: int, *, idle_share: float = 0.05, window: float = 0.3, limit: float = 30.0
) -> float:
    """Wait until the process uses under ``idle_share`` of a core over ``window`` seconds."""
    start = time.monotonic()
    before = cpu_seconds(pid)
    while before is not None and time.monotonic() - start < limit:
        time.sleep(window)
        after = cpu_seconds(pid)
        if after is None or after - before <= idle_share * window:
            break
        before = after
    return time.monotonic() - start


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        mem_gib = round(int(meminfo[0].split()[1]) / 1024 / 1024, 1)
    node = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        node = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": node,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# -- processes -------------------------------------------------------------------------------


@dataclass
class Service:
    """A server under test, in its own process group; stopped with SIGTERM, then SIGKILL."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    health_path: str = "/health"
    process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 30.0) -> Service:
        log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 0.5):
                if self._ready():
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not start within {timeout}s:\n{self.log_tail()}")

    def _ready(self) -> bool:
        import httpx

        try:
            url = f"http://{HOST}:{self.port}{self.health_path}"
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def playsync_service(
    workdir: Path,
    name: str,
    database: Path,
    *,
    bench_app: bool = False,
    extra: list[str] | None = None,
) -> Service:
    """The production server (``server.cli serve``), or the bench app with its noop route."""
    port = free_port()
    url = f"sqlite+aiosqlite:///{database}"
    if bench_app:
        argv = [sys.executable, "-m", "bench.serve", "--port", str(port), "--database-url", url]
    else:
        argv = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
        argv += ["--database-url", url, "--no-seed"]
    argv += extra or []
    return Service(name, argv, port, workdir / f"{name}.log")


def reference_service(workdir: Path, name: str = "reference") -> Service:
    """``@y/websocket-server`` 0.1.1, in-memory, as its own bin starts it."""
    port = free_port()
    node = shutil.which("node") or "node"
    return Service(
        name,
        [node, str(REFERENCE_SERVER)],
        port,
        workdir / f"{name}.log",
        env={"HOST": HOST, "PORT": str(port)},
        cwd=BENCH,
        health_path="/",
    )


def seed_tracks(database: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "seed",
            "--tracks-only",
            "--database-url",
            f"sqlite+aiosqlite:///{database}",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )


def synthetic_tracks(total: int) -> list[dict[str, Any]]:
    """Library tracks beyond the seed's 35, so a playlist can hold ``total`` distinct tracks."""
    return [
        {
            "id": 1000 + i,
            "title": f"Bench Track {i}",
            "artist": f"Bench Artist {i % 17}",
            "album": f"Bench Album {i % 29}",
            "duration_seconds": 120 + (i * 7) % 300,
            "genre": ("rock", "pop", "jazz", "electronic", "hip-hop")[i % 5],
            "cover_url": None,
        }
        for i in range(total)
    ]


def add_library_tracks(database: Path, total: int) -> list[int]:
    """Seed the library, then top it up to ``total`` tracks; return their ids."""
    from server.engine.storage import Storage

    seed_tracks(database)

    async def run() -> list[int]:
        storage = Storage(f"sqlite+aiosqlite:///{database}")
        try:
            have = await storage.load_tracks()
            missing = max(0, total - len(have))
            await storage.insert_missing_tracks(synthetic_tracks(missing))
            return [track.id for track in await storage.load_tracks()][:total]
        finally:
            await storage.close()

    return asyncio.run(run())


@contextlib.contextmanager
def services(*items: Service) -> Iterator[tuple[Service, ...]]:
    started: list[Service] = []
    try:
        for item in items:
            started.append(item.start())
        yield items
    finally:
        for item in started:
            item.stop()


def run_json(
    argv: list[str],
    *,
    timeout: float,
    cwd: Path = ROOT,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> Any:
    """Run a helper process that prints one JSON object on stdout (stderr passes through)."""
    result = subprocess.run(
        argv,
        cwd=cwd,
        input=stdin,
        env={**os.environ, **env} if env else None,
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited with {result.returncode}")
    return json.loads(result.stdout.strip().splitlines()[-1])
