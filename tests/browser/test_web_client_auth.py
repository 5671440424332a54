"""The web client against a server with ``--auth-secret`` (CONTRACT §8): ``/?token=…``.

A page opened with a write token edits as usual; one with a read token shows the
playlist live and shares presence, offers no edits, and whatever its document is
made to do anyway reaches no one. A page without a token is refused (4401) and
says so instead of reconnecting forever.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.auth.conftest import SECRET, bearer, token
from tests.conftest import ServerProcess, seed_tracks

from .chromium import Browser
from .test_web_client import BOHEMIAN, STAIRWAY, wait_for
from .webclient import WebClient, library_track


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db: Path = tmp_path_factory.mktemp("browser-auth") / "playsync.db"
    proc = ServerProcess(db_path=db, args=("--no-seed", "--auth-secret", SECRET))
    seed_tracks(proc.database_url)
    proc.start()
    yield proc
    proc.stop()


def rest_track_ids(server: ServerProcess, playlist: str) -> list[int]:
    response = httpx.get(
        f"{server.base_url}/api/playlists/{playlist}/", headers=bearer(token(playlist, "read"))
    )
    response.raise_for_status()
    return [item["track_id"] for item in response.json()]


def test_a_write_token_edits_and_a_read_token_watches(
    browser: Browser, auth_server: ServerProcess, playlist: str
) -> None:
    base = f"{auth_server.base_url}/?playlist={playlist}"
    writer = WebClient(browser, f"{playlist}-w", f"{base}&token={token(playlist, 'write')}")
    reader = WebClient(browser, f"{playlist}-r", f"{base}&token={token(playlist, 'read')}")
    pages = (writer, reader)
    try:
        for page in pages:
            page.wait_status("online")
        writer.set_name("Wendy")
        reader.set_name("Rita")
        writer.wait_peers(["Wendy", "Rita"])
        reader.wait_peers(["Rita", "Wendy"])
        assert reader.page.eval("() => window.playsync.readOnly") is True
        assert writer.page.eval("() => window.playsync.readOnly") is False

        # The writer adds through the page; the reader sees it live, and so does REST.
        writer.add(BOHEMIAN)
        reader.wait_track_ids([BOHEMIAN])
        wait_for(lambda: rest_track_ids(auth_server, playlist) == [BOHEMIAN], what="REST")

        # The reader's page offers no edit...
        offered = reader.page.eval(
            "(sel) => getComputedStyle(document.querySelector(sel)).pointerEvents",
            f"{library_track(STAIRWAY)} button.add",
        )
        assert offered == "none"
        # ...and an edit of its document anyway (the console, a modified page) reaches no one.
        reader.page.eval(
            "() => window.playsync.model.addItem(window.playsync.doc, "
            "{ trackId: 2, addedBy: 'Rita', track: null })"
        )
        reader.wait_track_ids([BOHEMIAN, STAIRWAY])  # its own copy changed
        reader.set_name("Rita2")  # sent after the edit, on the same socket
        writer.wait_peers(["Wendy", "Rita2"])
        assert writer.track_ids() == [BOHEMIAN]
        assert rest_track_ids(auth_server, playlist) == [BOHEMIAN]
        assert reader.status() == "online"
    finally:
        problems = {page.page.name: page.close() for page in pages}
    # Console errors only; the reader's "Permission denied" is a warning.
    assert not any(problems.values()), problems


def test_a_page_without_a_fitting_token_says_access_denied(
    browser: Browser, auth_server: ServerProcess, playlist: str
) -> None:
    other = token(f"{playlist}-other", "admin")
    for label, url in (
        ("none", f"{auth_server.base_url}/?playlist={playlist}"),
        ("other", f"{auth_server.base_url}/?playlist={playlist}&token={other}"),
    ):
        page = browser.open(f"{playlist}-{label}", url)
        try:
            page.wait("() => document.querySelector('#status').dataset.state === 'denied'")
            assert page.eval("() => document.querySelector('#status .label').textContent") == (
                "access denied"
            )
        finally:
            page.close()
