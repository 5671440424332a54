"""The pure parts of the limits: token buckets on a fake clock, and which origins are ours."""

from __future__ import annotations

import pytest

from server.surfaces.browser_origin import is_allowed_origin
from server.surfaces.throttle import RateLimiter, TokenBucket, parse_rate


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_gives_its_burst_then_says_how_long_to_wait():
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=2, clock=clock)
    assert [bucket.take(), bucket.take()] == [0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5)
    clock.now = 0.5
    assert bucket.take() == 0.0


def test_a_debit_runs_into_debt_and_the_wait_pays_it_off():
    clock = Clock()
    bucket = TokenBucket(rate=100, burst=100, clock=clock)
    bucket.debit(300)
    assert bucket.wait() == pytest.approx(2.0)
    clock.now = 2.0
    assert bucket.wait() == 0.0


def test_the_rate_limiter_keeps_one_bucket_per_client():
    clock = Clock()
    limiter = RateLimiter(1, clock=clock)
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0


@pytest.mark.parametrize("text, rate", [("20/s", 20.0), (" 2.5 / s ", 2.5), ("0/s", 0.0)])
def test_rates_read_as_n_per_second(text, rate):
    assert parse_rate(text) == rate


ALLOWED = ("http://localhost:3000", "http://127.0.0.1:3000")


@pytest.mark.parametrize(
    "origin, host, allowed",
    [
        (None, "127.0.0.1:4000", True),  # not a browser page
        ("http://localhost:3000", "127.0.0.1:4000", True),  # the CORS allow-list
        ("HTTP://LocalHost:3000", "127.0.0.1:4000", True),
        ("http://127.0.0.1:4000", "127.0.0.1:4000", True),  # the server's own page
        ("https://music.example", "music.example", True),  # ours, behind a TLS proxy
        ("http://music.example", "music.example:80", True),
        ("http://evil.example", "127.0.0.1:4000", False),
        ("http://127.0.0.1:4001", "127.0.0.1:4000", False),  # another port is another origin
        ("null", "127.0.0.1:4000", False),  # file:// pages, sandboxed frames
        ("not an origin", "127.0.0.1:4000", False),
        ("http://a:99999", "a", False),
    ],
)
def test_which_origins_may_write(origin, host, allowed):
    assert is_allowed_origin(origin, host=host, allowed=ALLOWED) is allowed
