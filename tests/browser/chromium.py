"""Drive headless Chromium from pytest through ``driver.mjs`` (playwright-core on Node).

``Browser`` is the driver process; ``Page`` is one named tab in it. Waiting is always on a
condition with a timeout (``Page.wait``), never a fixed sleep.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from ..jsonlines import JsonLinesProcess

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHROMIUM = Path("/usr/bin/chromium")
PLAYWRIGHT = ROOT / "examples" / "web" / "node_modules" / "playwright-core"
WEB_DIST = ROOT / "examples" / "web" / "dist"
NODE = shutil.which("node") or "node"
TRACE = bool(os.environ.get("PLAYSYNC_BROWSER_TRACE"))  # print every command and its time


class BrowserError(AssertionError):
    """A command failed in the browser, timed out, or the driver died."""


class Browser:
    def __init__(self, chromium: Path = CHROMIUM, *, start_timeout: float = 60.0) -> None:
        self._proc = JsonLinesProcess(
            [NODE, str(HERE / "driver.mjs"), "--chromium", str(chromium)], HERE
        )
        self.process = self._proc.process
        self._ids = itertools.count(1)
        self.version = self._reply(0, start_timeout)

    def _reply(self, request_id: int, timeout: float) -> Any:
        try:
            reply = self._proc.receive(timeout)
        except TimeoutError:
            raise BrowserError(f"no reply from the browser driver in {timeout}s") from None
        if reply is None:
            raise BrowserError("the browser driver exited:\n" + self._proc.stderr())
        if reply.get("id") != request_id:
            raise BrowserError(f"reply out of order: {reply}")
        if not reply["ok"]:
            raise BrowserError(reply["error"])
        return reply["value"]

    def cmd(self, cmd: str, *, reply_timeout: float = 60.0, **args: Any) -> Any:
        request_id = next(self._ids)
        try:
            self._proc.send({"id": request_id, "cmd": cmd, **args})
        except OSError as exc:
            raise BrowserError(f"the browser driver is gone: {exc}") from exc
        started = time.monotonic()
        try:
            return self._reply(request_id, reply_timeout)
        finally:
            if TRACE:
                took = time.monotonic() - started
                print(f"[browser {took:6.2f}s] {cmd} {json.dumps(args)[:160]}", flush=True)

    def open(self, name: str, url: str, *, context: str | None = None) -> Page:
        self.cmd("open", page=name, url=url, context=context or name)
        return Page(self, name)

    def set_offline(self, context: str, offline: bool) -> None:
        """Take a browser context (all its pages) off the network, or back on."""
        self.cmd("offline", context=context, offline=offline)

    def close(self) -> None:
        self._proc.close()


class Page:
    """One tab. ``expr`` arguments are JS function sources, called with ``arg``."""

    def __init__(self, browser: Browser, name: str) -> None:
        self.browser = browser
        self.name = name

    def _cmd(self, cmd: str, **args: Any) -> Any:
        return self.browser.cmd(cmd, page=self.name, **args)

    def eval(self, expr: str, arg: Any = None) -> Any:
        return self._cmd("eval", expr=expr, arg=arg)

    def wait(self, expr: str, arg: Any = None, *, timeout: float = 15.0) -> Any:
        """Wait until ``expr(arg)`` is truthy; returns its value."""
        try:
            return self._cmd(
                "wait", expr=expr, arg=arg, timeout=timeout * 1000, reply_timeout=timeout + 30
            )
        except BrowserError as exc:
            raise BrowserError(f"{self.name}: waiting for {expr} ({arg!r}): {exc}") from None

    def click(self, selector: str) -> None:
        self._cmd("click", selector=selector)

    def fill(self, selector: str, value: str) -> None:
        self._cmd("fill", selector=selector, value=value)

    def press(self, selector: str, key: str) -> None:
        self._cmd("press", selector=selector, key=key)

    def select(self, selector: str, value: str) -> None:
        self._cmd("select", selector=selector, value=value)

    def drag(self, source: str, target: str, *, target_position: dict | None = None) -> None:
        self._cmd("drag", source=source, target=target, targetPosition=target_position)

    def set_offline(self, offline: bool) -> None:
        """Take this page's browser context off (or back on) the network."""
        self._cmd("offline", offline=offline)

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._cmd("screenshot", path=str(path))
        return path

    def problems(self) -> list[str]:
        """Console errors and uncaught exceptions seen so far."""
        return self._cmd("problems")

    def close(self) -> None:
        self._cmd("close")
