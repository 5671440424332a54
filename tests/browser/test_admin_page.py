"""The admin page (/admin/, CONTRACT §11) in headless Chromium, against a real server.

Everything goes through the page's DOM; the results are checked through the public REST API.
The server is this module's own: the test changes the track library.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess, seed_tracks

from .chromium import Browser, Page

pytestmark = pytest.mark.timeout(180)

PLAYLIST = "admin-page"


def wait_for(check: Callable[[], Any], *, timeout: float = 15.0, what: str = "a condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db: Path = tmp_path_factory.mktemp("admin-page") / "playsync.db"
    proc = ServerProcess(db_path=db)
    seed_tracks(proc.database_url)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def page(browser: Browser, admin_server: ServerProcess) -> Iterator[Page]:
    tab = browser.open("admin", f"{admin_server.base_url}/admin/")
    tab.wait("() => document.querySelector('#status').textContent === 'Ready'")
    yield tab
    problems = tab.problems()
    tab.close()
    assert problems == []


def status(page: Page, text: str) -> None:
    page.wait("(t) => document.querySelector('#status').textContent.startsWith(t)", text)


def test_the_track_library_from_the_page(page: Page, admin_server: ServerProcess):
    api = httpx.Client(base_url=admin_server.base_url, timeout=30)
    for field, value in {
        "title": "Page Song",
        "artist": "Browser Band",
        "album": "Headless",
        "duration_seconds": "185",
        "genre": "Pop",
    }.items():
        page.fill(f"#track-form [name={field}]", value)
    page.click("#track-save")
    status(page, "Added track")
    found = api.get("/api/tracks/", params={"search": "Page Song"}).json()
    assert [t["artist"] for t in found] == ["Browser Band"] and found[0][
        "duration_formatted"
    ] == "3:05"
    track_id = found[0]["id"]
    row = f'#tracks tr[data-id="{track_id}"]'
    page.wait("(sel) => document.querySelector(sel)", row)

    page.click(f"{row} button:text('Edit')")
    page.fill("#track-form [name=title]", "Edited Song")
    page.click("#track-save")
    status(page, "Saved track")
    assert api.get(f"/api/tracks/{track_id}/").json()["title"] == "Edited Song"

    # A refused edit says why and changes nothing.
    page.click(f"{row} button:text('Edit')")
    page.fill("#track-form [name=duration_seconds]", "0.5")
    page.eval("() => document.querySelector('#track-form').requestSubmit()")
    page.wait(
        "() => document.querySelector('#status').classList.contains('error')"
        " || document.querySelector('#track-form [name=duration_seconds]').matches(':invalid')"
    )
    assert api.get(f"/api/tracks/{track_id}/").json()["duration_seconds"] == 185
    page.click("#track-cancel")

    page.click(f"{row} button:text('Remove')")
    status(page, "Removed track")
    assert api.get(f"/api/tracks/{track_id}/").status_code == 404


def test_playlists_and_moderation_from_the_page(page: Page, admin_server: ServerProcess):
    api = httpx.Client(base_url=admin_server.base_url, timeout=30)
    base = f"/api/playlists/{PLAYLIST}"
    a = api.post(f"{base}/", json={"track_id": 1}).json()
    b = api.post(f"{base}/", json={"track_id": 2}).json()
    for _ in range(2):
        api.post(f"{base}/{a['id']}/vote/", json={"direction": "up"})
    api.post(f"{base}/{b['id']}/play/")

    page.click("#playlists-refresh")
    row = f'#playlists tr[data-name="{PLAYLIST}"]'
    page.wait("(sel) => document.querySelector(sel)?.children[1].textContent === '2'", row)
    page.click(f"{row} button:text('Moderate')")
    item = f'#items tr[data-id="{a["id"]}"]'
    page.wait("(sel) => document.querySelector(sel)?.children[2].textContent === '2'", item)

    page.click(f"{item} button:text('Reset votes')")
    status(page, "Votes of")
    assert api.get(f"{base}/{a['id']}/").json()["votes"] == 0
    page.click("#moderation-stop")
    status(page, "Stopped playback")
    assert not any(i["is_playing"] for i in api.get(f"{base}/").json())
    page.click(f"#items tr[data-id=\"{b['id']}\"] button:text('Remove')")
    status(page, "Removed")
    assert [i["id"] for i in api.get(f"{base}/").json()] == [a["id"]]

    # Export through the API, import through the page's file input into a new playlist.
    exported = api.get(f"/api/admin/playlists/{PLAYLIST}/export/").json()
    page.fill("#import-form [name=name]", "admin-copy")
    page.eval(
        """(text) => {
            const data = new DataTransfer()
            data.items.add(new File([text], 'export.json', {type: 'application/json'}))
            document.querySelector('#import-form [name=file]').files = data.files
        }""",
        json.dumps(exported),
    )
    page.click("#import-form button[type=submit]")
    status(page, "Imported 1 items into admin-copy")
    assert api.get("/api/playlists/admin-copy/").json() == api.get(f"{base}/").json()

    page.eval("() => { window.confirm = () => true }")
    page.click("#playlists tr[data-name=\"admin-copy\"] button:text('Delete')")
    status(page, "Deleted admin-copy")
    wait_for(
        lambda: "admin-copy" not in {p["name"] for p in api.get("/api/playlists/").json()},
        what="the deleted playlist to leave the list",
    )
