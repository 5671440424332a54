"""The web client's "Sort by votes" toggle (CONTRACT §5 settings): shown and set in the browser,
the same mode in REST and in every other tab."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .chromium import Browser
from .webclient import WebClient

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def tabs(browser: Browser, server, playlist: str) -> Iterator[list[WebClient]]:
    url = f"{server.base_url}/?playlist={playlist}"
    opened = [WebClient(browser, f"{playlist}-sort-{n}", url) for n in range(2)]
    for tab in opened:
        tab.wait_status("online")
    yield opened
    problems = {tab.page.name: tab.close() for tab in opened}
    assert not any(problems.values()), problems


def checked(tab: WebClient) -> bool:
    return tab.page.eval("() => document.querySelector('#auto-sort').checked")


def test_the_toggle_orders_by_votes_for_every_tab_and_for_rest(tabs, server, playlist):
    one, two = tabs
    api = httpx.Client(base_url=server.base_url, timeout=30)
    base = f"/api/playlists/{playlist}"
    a = api.post(f"{base}/", json={"track_id": 1}).json()
    b = api.post(f"{base}/", json={"track_id": 2}).json()
    api.post(f"{base}/{b['id']}/vote/", json={"direction": "up"})
    one.wait_track_ids([1, 2])
    assert checked(one) is False

    one.page.click("#auto-sort")
    two.wait_track_ids([2, 1])
    two.page.wait("() => document.querySelector('#auto-sort').checked")
    assert api.get(f"{base}/settings/").json() == {"auto_sort_by_votes": True}
    assert [i["id"] for i in api.get(f"{base}/").json()] == [b["id"], a["id"]]

    # A vote reorders the list live; a REST change of mode shows in the tabs.
    for _ in range(2):
        api.post(f"{base}/{a['id']}/vote/", json={"direction": "up"})
    one.wait_track_ids([1, 2])
    api.patch(f"{base}/settings/", json={"auto_sort_by_votes": False})
    one.page.wait("() => !document.querySelector('#auto-sort').checked")
    two.wait_track_ids([1, 2])
    assert checked(two) is False
