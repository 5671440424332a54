"""Open WebSockets per client address, for ``max_connections_per_address`` (CONTRACT §9)."""

from __future__ import annotations

from collections import Counter


class AddressSlots:
    """Open WebSockets per client address, for ``max_connections_per_address``."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    def acquire(self, address: str, limit: int) -> bool:
        if limit and self._open[address] >= limit:
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]
