"""Reading ``/metrics`` in tests: every sample by name and labels, and waiting for one to move."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

WAIT = 10.0


def scrape(base_url: str) -> Samples:
    response = httpx.get(f"{base_url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def scrape_until(base_url: str, done: Callable[[Samples], bool]) -> Samples:
    """Scrape until ``done`` holds (the server counts a closed connection a moment later)."""
    deadline = time.monotonic() + WAIT
    while True:
        samples = scrape(base_url)
        if done(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)
