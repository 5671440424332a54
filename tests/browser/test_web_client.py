"""The web client (examples/web) in headless Chromium, against a real server.

Two tabs in separate browser contexts (separate storage, separate network) edit one playlist
through Yjs and converge; a tab that goes offline keeps editing and merges when it is back; the
REST API then shows the merged document.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.app import create_app
from server.settings import Settings

from .chromium import ROOT, Browser
from .webclient import WebClient, item, library_track

ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOT = ARTIFACTS / "web-client.png"

# Tracks of the seed library (server/engine/seed_tracks.json), by id.
BOHEMIAN, STAIRWAY, HOTEL, SWEET_CHILD, SMELLS = 1, 2, 3, 4, 5


def wait_for(check: Callable[[], Any], *, timeout: float = 15.0, what: str = "a condition") -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def clients(browser: Browser, server, playlist: str) -> Iterator[Callable[..., WebClient]]:
    """Open web clients on this test's playlist; at the end every page must have run clean."""
    opened: list[WebClient] = []

    def open_client(label: str, user: str | None = None, *, context: str | None = None):
        """A tab; its own browser context unless ``context`` names another tab's."""
        url = f"{server.base_url}/?playlist={playlist}"
        client = WebClient(browser, f"{playlist}-{label}", url, context=context)
        opened.append(client)
        if user is not None:
            client.set_name(user)
        client.wait_status("online")
        return client

    yield open_client
    problems = {client.page.name: client.close() for client in opened}
    # No console errors, no uncaught exceptions, no CSP violations.
    assert not any(problems.values()), problems


def shared_view(client: WebClient) -> list[dict[str, Any]]:
    """A client's items without ``myVotes`` (each tab's own share of the votes)."""
    return [
        {k: v for k, v in entry.items() if k != "myVotes"} for entry in client.snapshot()["items"]
    ]


def rest_items(api: httpx.Client, playlist: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/playlists/{playlist}/")
    response.raise_for_status()
    return response.json()


# ---------------------------------------------------------------- serving


def test_index_and_assets_are_served(api: httpx.Client) -> None:
    page = api.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'src="assets/app.js"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = api.get("/assets/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert api.get("/assets/app.css").headers["content-type"].startswith("text/css")
    assert api.get("/assets/missing.js").status_code == 404
    assert api.get("/assets/..%2Findex.html").status_code == 404  # no way out of the root


async def test_without_a_build_the_root_says_how_to_make_one(tmp_path: Path, monkeypatch) -> None:
    empty = tmp_path / "no-build"
    monkeypatch.setenv("PLAYSYNC_WEB_ROOT", str(empty))
    settings = Settings()
    settings.database_url = f"sqlite+aiosqlite:///{tmp_path / 'playsync.db'}"
    app = create_app(settings)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        page = await client.get("/")
        assert page.status_code == 200
        text = await page.get_data(as_text=True)
        assert "make install" in text
        assert str(empty) in text
        assert (await client.get("/assets/app.js")).status_code == 404
        assert (await client.get("/health")).status_code == 200


# ---------------------------------------------------------------- in the browser


def test_two_pages_edit_the_playlist_and_converge(clients, api, playlist: str) -> None:
    alice = clients("a", "Alice")
    bob = clients("b", "Bob")
    alice.wait_peers(["Alice", "Bob"])
    bob.wait_peers(["Bob", "Alice"])

    # Presence: Carol comes and goes.
    carol = clients("c", "Carol")
    alice.wait_peers(["Alice", "Bob", "Carol"])
    assert not carol.close()
    alice.wait_peers(["Alice", "Bob"])
    bob.wait_peers(["Bob", "Alice"])

    # Alice finds a track by searching and adds it; both pages show it, added by Alice.
    alice.search("bohemian")
    alice.page.wait("() => document.querySelectorAll('#library > li').length === 1")
    alice.add(BOHEMIAN)
    assert alice.add_disabled(BOHEMIAN)
    bob.wait_track_ids([BOHEMIAN])
    assert bob.add_disabled(BOHEMIAN), "a track already in the playlist cannot be added again"
    assert bob.rows()[0]["title"] == "Bohemian Rhapsody"
    assert bob.rows()[0]["added"].startswith("added by Alice")

    # Bob filters by genre and appends two tracks: last + 1 each time.
    bob.search("", genre="rock")
    bob.add(STAIRWAY)
    bob.add(HOTEL)
    alice.wait_track_ids([BOHEMIAN, STAIRWAY, HOTEL])
    assert [i["position"] for i in alice.snapshot()["items"]] == [1, 2, 3]

    # Votes from both pages sum (each page writes its own PN-counter key).
    alice.vote(BOHEMIAN, "up")
    alice.vote(BOHEMIAN, "up")
    bob.vote(BOHEMIAN, "up")
    bob.vote(HOTEL, "down")
    for page in (alice, bob):
        page.wait_votes(BOHEMIAN, 3)
        page.wait_votes(HOTEL, -1)

    # Bob plays a track: Alice's now-playing bar shows it; the total duration is the sum.
    bob.toggle_play(STAIRWAY)
    alice.page.wait(
        "() => document.querySelector('#now-playing .np-title').textContent"
        " === 'Stairway to Heaven'"
    )
    summary = alice.page.eval("() => ({...document.querySelector('#summary').dataset})")
    assert summary == {"count": "3", "seconds": str(355 + 482 + 391)}

    # The REST API reads the same document.
    items = wait_for(
        lambda: (got := rest_items(api, playlist)) and got[1]["is_playing"] and got,
        what="REST to show the playing track",
    )
    assert [i["track_id"] for i in items] == [BOHEMIAN, STAIRWAY, HOTEL]
    assert [i["votes"] for i in items] == [3, 0, -1]
    assert [i["added_by"] for i in items] == ["Alice", "Bob", "Bob"]
    assert items[1]["played_at"]

    # A REST write reaches both pages.
    api.post(f"/api/playlists/{playlist}/{items[0]['id']}/vote/", json={"direction": "up"})
    alice.wait_votes(BOHEMIAN, 4)
    bob.wait_votes(BOHEMIAN, 4)

    bob.search("", genre="rock")
    bob.page.wait("() => document.querySelectorAll('#library > li').length === 5")
    bob.page.screenshot(SCREENSHOT)
    assert SCREENSHOT.stat().st_size > 10_000

    # Removing a track: gone on both pages, and it can be added again.
    alice.remove(HOTEL)
    bob.wait_track_ids([BOHEMIAN, STAIRWAY])
    bob.page.wait(f"() => !document.querySelector('{library_track(HOTEL)} button.add').disabled")

    # Reordering from the keyboard: Alt+ArrowDown moves the focused row down one place.
    alice.page.press(item(BOHEMIAN), "Alt+ArrowDown")
    bob.wait_track_ids([STAIRWAY, BOHEMIAN])
    assert [i["position"] for i in bob.snapshot()["items"]] == [2, 3]


def test_offline_edits_merge_when_back_online(clients, api, playlist: str) -> None:
    for track_id in (BOHEMIAN, STAIRWAY, HOTEL):
        assert api.post(f"/api/playlists/{playlist}/", json={"track_id": track_id}).is_success
    alice = clients("a", "Alice")
    bob = clients("b", "Bob")
    for page in (alice, bob):
        page.wait_track_ids([BOHEMIAN, STAIRWAY, HOTEL])
    alice.wait_peers(["Alice", "Bob"])

    # Alice loses the network: she sees it, and nobody else is shown as here any more.
    # (Bob's tab drops her only when her presence times out, 30 s: an offline browser
    # cannot say goodbye.)
    alice.go_offline()
    alice.wait_peers(["Alice"])

    # Offline, Alice votes and moves Hotel California to the top (before the first: first - 1).
    alice.vote(STAIRWAY, "up")
    alice.vote(STAIRWAY, "up")
    alice.drag_before(HOTEL, BOHEMIAN)
    alice.wait_track_ids([HOTEL, BOHEMIAN, STAIRWAY])
    alice.wait_votes(STAIRWAY, 2)
    assert alice.snapshot()["items"][0]["position"] == 0

    # Meanwhile Bob, online, votes on the same track and appends one.
    bob.vote(STAIRWAY, "up")
    bob.add(SWEET_CHILD)
    wait_for(
        lambda: [i["votes"] for i in rest_items(api, playlist)] == [0, 1, 0, 0],
        what="Bob's edits to reach the server",
    )
    # Nothing of Alice's offline edits has left her tab.
    assert [i["track_id"] for i in rest_items(api, playlist)] == [
        BOHEMIAN,
        STAIRWAY,
        HOTEL,
        SWEET_CHILD,
    ]
    assert bob.track_ids() == [BOHEMIAN, STAIRWAY, HOTEL, SWEET_CHILD]
    assert alice.status() == "offline"

    # Back online: both tabs converge on the merge of both sides.
    alice.go_online()
    merged = [HOTEL, BOHEMIAN, STAIRWAY, SWEET_CHILD]
    for page in (alice, bob):
        page.wait_track_ids(merged)
        page.wait_votes(STAIRWAY, 3)
    alice.wait_peers(["Alice", "Bob"])
    assert shared_view(alice) == shared_view(bob)

    # And the server has the merged document.
    items = wait_for(
        lambda: (
            (got := rest_items(api, playlist)) and [i["track_id"] for i in got] == merged and got
        ),
        what="the merge to reach REST",
    )
    assert [i["votes"] for i in items] == [0, 0, 3, 0]
    assert [i["position"] for i in items] == [0, 1, 2, 4]


def test_offline_edits_survive_closing_the_tab(clients, browser: Browser, api, playlist: str):
    """y-indexeddb: what a tab did offline is on the device, and syncs when a tab comes back."""
    assert api.post(f"/api/playlists/{playlist}/", json={"track_id": BOHEMIAN}).is_success
    alice = clients("a", "Alice")
    alice.wait_track_ids([BOHEMIAN])
    alice.go_offline()
    alice.vote(BOHEMIAN, "up")
    alice.vote(BOHEMIAN, "up")
    alice.add(SMELLS)
    alice.wait_votes(BOHEMIAN, 2)
    alice.wait_saved_locally()
    assert not alice.close()
    assert [i["votes"] for i in rest_items(api, playlist)] == [0]

    # Later, online again, a new tab of the same browser profile: the edits reach everyone.
    browser.set_offline(alice.context, False)
    again = clients("a2", context=alice.context)
    assert again.name() == "Alice"
    again.wait_track_ids([BOHEMIAN, SMELLS])
    items = wait_for(
        lambda: (got := rest_items(api, playlist)) and len(got) == 2 and got,
        what="the offline edits to reach REST",
    )
    assert [(i["track_id"], i["votes"], i["added_by"]) for i in items] == [
        (BOHEMIAN, 2, "Anonymous"),
        (SMELLS, 0, "Alice"),
    ]


def test_status_shows_reconnecting_while_the_server_is_down(browser: Browser, make_server):
    """The indicator follows the connection; edits made meanwhile reach the restarted server."""
    proc = make_server("--no-seed")
    api = httpx.Client(base_url=proc.base_url, timeout=30)
    client = WebClient(browser, "restart", f"{proc.base_url}/?playlist=restart")
    try:
        client.set_name("Robin")
        client.wait_status("online")
        client.add(BOHEMIAN)
        wait_for(lambda: rest_items(api, "restart"), what="the add to reach the server")

        proc.kill()
        client.wait_status("reconnecting")
        client.vote(BOHEMIAN, "up")
        client.add(STAIRWAY)

        proc.start()  # same port, same database
        client.wait_status("online", timeout=30)
        items = wait_for(
            lambda: (got := rest_items(api, "restart")) and len(got) == 2 and got,
            what="the edits made while the server was down",
        )
        assert [(i["track_id"], i["votes"], i["added_by"]) for i in items] == [
            (BOHEMIAN, 1, "Robin"),
            (STAIRWAY, 0, "Robin"),
        ]
    finally:
        problems = client.close()
        api.close()
    # While the server is down, Chromium logs each failed WebSocket attempt as a console error.
    assert not [p for p in problems if "WebSocket" not in p], problems
