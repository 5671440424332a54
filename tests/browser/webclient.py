"""The web client as a user sees it: a page object over one browser tab.

Everything goes through the page's DOM (clicks, typing, drag and drop); reads come from the
rendered rows. ``snapshot()`` reads the client's own projection of the Y.Doc for positions.
"""

from __future__ import annotations

from typing import Any

from .chromium import Browser, Page

ROWS = """() => [...document.querySelectorAll('#playlist > li')].map((li) => ({
    id: li.dataset.id,
    track_id: Number(li.dataset.trackId),
    title: li.querySelector('.title').textContent,
    votes: Number(li.querySelector('.votes').textContent),
    added: li.querySelector('.added').textContent,
    playing: li.classList.contains('playing'),
}))"""


def item(track_id: int) -> str:
    return f'#playlist > li[data-track-id="{track_id}"]'


def library_track(track_id: int) -> str:
    return f'#library > li[data-track-id="{track_id}"]'


class WebClient:
    def __init__(self, browser: Browser, name: str, url: str, *, context: str | None = None):
        self.context = context or name
        self.page: Page = browser.open(name, url, context=self.context)
        self.problems: list[str] | None = None
        self.page.wait("() => window.playsync && document.querySelector('#library > li')")

    def close(self) -> list[str]:
        """Close the tab (once); returns its console errors and uncaught exceptions."""
        if self.problems is None:
            self.problems = self.page.problems()
            self.page.close()
        return self.problems

    # ------------------------------------------------------------ state

    def status(self) -> str:
        return self.page.eval("() => document.querySelector('#status').dataset.state")

    def wait_status(self, state: str, timeout: float = 15.0) -> None:
        self.page.wait(
            "(s) => document.querySelector('#status').dataset.state === s", state, timeout=timeout
        )

    def rows(self) -> list[dict[str, Any]]:
        return self.page.eval(ROWS)

    def track_ids(self) -> list[int]:
        return [row["track_id"] for row in self.rows()]

    def wait_track_ids(self, track_ids: list[int], timeout: float = 15.0) -> None:
        self.page.wait(
            "(ids) => JSON.stringify([...document.querySelectorAll('#playlist > li')]"
            ".map((li) => Number(li.dataset.trackId))) === JSON.stringify(ids)",
            track_ids,
            timeout=timeout,
        )

    def votes(self, track_id: int) -> int:
        return int(
            self.page.eval(f"() => document.querySelector('{item(track_id)} .votes').textContent")
        )

    def wait_votes(self, track_id: int, votes: int, timeout: float = 15.0) -> None:
        self.page.wait(
            "([sel, n]) => document.querySelector(sel)?.textContent === String(n)",
            [f"{item(track_id)} .votes", votes],
            timeout=timeout,
        )

    def snapshot(self) -> dict[str, Any]:
        """The client's projection of its Y.Doc (items with positions, now_playing)."""
        return self.page.eval("() => window.playsync.snapshot()")

    def peers(self) -> list[str]:
        return self.page.eval(
            "() => [...document.querySelectorAll('#presence .peer')].map((p) => p.dataset.name)"
        )

    def wait_peers(self, names: list[str], timeout: float = 15.0) -> None:
        """Wait until the presence list shows exactly these names (this user's first)."""
        self.page.wait(
            "(names) => JSON.stringify([...document.querySelectorAll('#presence .peer')]"
            ".map((p) => p.dataset.name)) === JSON.stringify(names)",
            names,
            timeout=timeout,
        )

    def add_disabled(self, track_id: int) -> bool:
        return self.page.eval(
            f"() => document.querySelector('{library_track(track_id)} button.add').disabled"
        )

    def name(self) -> str:
        return self.page.eval("() => document.querySelector('#name').value")

    def wait_saved_locally(self) -> None:
        """Wait until every update so far is committed to IndexedDB (y-indexeddb writes are
        fire-and-forget; a read transaction on the same store completes after them)."""
        self.page.eval(
            """() => new Promise((resolve, reject) => {
                const tx = window.playsync.local.db.transaction(['updates'], 'readonly')
                tx.objectStore('updates').count()
                tx.oncomplete = () => resolve(true)
                tx.onerror = () => reject(tx.error)
            })"""
        )

    # ------------------------------------------------------------ actions

    def remove(self, track_id: int) -> None:
        self.page.click(f"{item(track_id)} button.remove")

    def set_name(self, name: str) -> None:
        self.page.fill("#name", name)
        self.page.press("#name", "Enter")

    def search(self, text: str, genre: str = "") -> None:
        self.page.fill("#search", text)
        self.page.select("#genre", genre)

    def add(self, track_id: int) -> None:
        self.page.click(f"{library_track(track_id)} button.add")
        self.page.wait("(sel) => document.querySelector(sel)", item(track_id))

    def vote(self, track_id: int, direction: str) -> None:
        self.page.click(f"{item(track_id)} button.vote-{direction}")

    def toggle_play(self, track_id: int) -> None:
        self.page.click(f"{item(track_id)} button.play")

    def drag_before(self, track_id: int, before_track_id: int) -> None:
        """Drag a row onto the top edge of another: it lands just before it."""
        self.page.drag(
            f"{item(track_id)} .handle",
            item(before_track_id),
            target_position={"x": 40, "y": 3},
        )

    def go_offline(self) -> None:
        self.page.set_offline(True)
        self.wait_status("offline")

    def go_online(self) -> None:
        self.page.set_offline(False)
        self.wait_status("online")
