"""Optional py-spy sampling of the playsync server during a section (``--profile``).

py-spy is not a dependency of the project: ``.venv/bin/pip install py-spy`` to use it.
Each profiled phase writes ``<name>.txt`` (collapsed stacks, one ``frame;frame;… count``
line per stack) into the profile directory, and its top frames, by own time and by
time including callees, into the results.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from .common import log


def find_py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def top_frames(collapsed: Path, limit: int = 15) -> dict:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [_short(f) for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n

    def table(counter: Counter[str]) -> list[dict]:
        return [
            {"frame": frame, "share": round(n / samples, 4), "samples": n}
            for frame, n in counter.most_common(limit)
        ]

    return {"samples": samples, "own": table(own), "total": table(total)}


def _short(frame: str) -> str:
    """``fn (/long/path/site-packages/pkg/mod.py:12)`` -> ``fn (pkg/mod.py:12)``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/work/main/", "lib/python3.13/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})" if where else name


class Profiler:
    def __init__(self, directory: Path, rate: int = 200) -> None:
        self.directory = directory
        self.rate = rate
        self.results: dict[str, dict] = {}
        self.binary = find_py_spy()
        directory.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def __call__(self, name: str, pid: int) -> Iterator[None]:
        if self.binary is None:
            log("profile: py-spy not found (.venv/bin/pip install py-spy); not profiling")
            yield
            return
        output = self.directory / f"{name}.txt"
        process = subprocess.Popen(
            [
                self.binary,
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--function",
                "--rate",
                str(self.rate),
                "--nonblocking",
                "--output",
                str(output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            if output.exists():
                self.results[name] = {"file": str(output), **top_frames(output)}
                log(f"profile: {name}: {self.results[name]['samples']} samples -> {output}")
