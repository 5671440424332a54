"""Token buckets: REST writes per client (``--rate-limit N/s``), update bytes per peer.

Written here rather than taken from a rate-limit package: both uses need one small thing
those do not give together, the exact time until the next token is due (``Retry-After`` for
REST, and how long a peer's reader waits before its next frame, CONTRACT §9).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*s\s*$")


def parse_rate(text: str) -> float:
    """``"20/s"`` -> 20.0 (``Settings.rate_limit`` has checked the form at startup)."""
    match = _RATE.match(text)
    if match is None:
        raise ValueError(f"a rate is N/s, not {text!r}")
    return float(match.group(1))


class TokenBucket:
    """``rate`` tokens a second, holding at most ``burst``; starts full."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens, self._at = burst, clock()

    def _refill(self) -> float:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        return self._tokens

    def take(self, amount: float = 1.0) -> float:
        """Take ``amount``; the seconds until that would have been possible (0: taken now).

        A refused take changes nothing. ``debit`` is the other way, for waiting callers.
        """
        tokens = self._refill()
        if tokens >= amount:
            self._tokens = tokens - amount
            return 0.0
        return (amount - tokens) / self.rate

    def debit(self, amount: float) -> None:
        """Take ``amount`` even into debt (what was read is read); see :meth:`wait`."""
        self._tokens = self._refill() - amount

    def wait(self) -> float:
        """Seconds until the bucket is out of debt (0: now)."""
        return max(0.0, -self._refill() / self.rate)

    @property
    def full(self) -> bool:
        return self._refill() >= self.burst


class RateLimiter:
    """One bucket per client key, each ``rate`` a second with a burst of one second's worth.

    Buckets that have refilled are forgotten once there are many, so memory follows the
    clients active in the last second, not every address ever seen.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self._clock = rate, clock
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str) -> float:
        """0 if ``key`` may go on now, else the seconds until it may."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= 10_000:
                self._buckets = {k: b for k, b in self._buckets.items() if not b.full}
            bucket = self._buckets[key] = TokenBucket(self.rate, max(1.0, self.rate), self._clock)
        return bucket.take()
