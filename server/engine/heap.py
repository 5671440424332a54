"""Handing freed memory back to the system, where the C library can.

A dormant room frees its live document (Rust allocations, made through the C library's
``malloc``), but glibc keeps what is freed in its heap for reuse: measured with
``bench/memory.py`` (100 playlists of 200 items), the server's RSS did not go down at all
when the rooms went dormant (933 KiB per room, as awake), and was 240 KiB per room with one
``malloc_trim(0)`` after the reaper's pass. Python's own collector freed nothing more (the
room breaks its cycles through pycrdt itself), so it is not run: on a large heap it would
stop the event loop for longer. Elsewhere (musl, macOS) this does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import sys
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library this process runs on
    except (OSError, AttributeError):
        return None  # not glibc
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _malloc_trim()


async def release_freed_memory() -> None:
    """Return the heap's free pages to the system (glibc's ``malloc_trim(0)``).

    In a thread: after many rooms went dormant at once it takes tens of milliseconds (one
    ``madvise`` per free run of pages), and ctypes releases the GIL meanwhile.
    """
    if _TRIM is not None:
        await asyncio.to_thread(_TRIM, 0)
