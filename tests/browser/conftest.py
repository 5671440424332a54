"""Fixtures for the web client's browser tests: one headless Chromium per session.

The tests need Debian's chromium at /usr/bin/chromium (CI installs it) and the built client
plus playwright-core from ``make install``; without chromium they are skipped, without the
build they fail and say how to make it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .chromium import CHROMIUM, PLAYWRIGHT, WEB_DIST, Browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (Debian package chromium; CI installs it)")
    missing = [str(p) for p in (PLAYWRIGHT, WEB_DIST / "index.html") if not p.exists()]
    if missing:
        pytest.fail(f"not built: {', '.join(missing)}; run `make install`")
    driver = Browser()
    yield driver
    driver.close()
