"""Drive the Node Yjs peers (``peer.mjs``, ``swarm.mjs``) from pytest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from ..jsonlines import JsonLinesProcess

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node") or "node"


class PeerError(AssertionError):
    """The peer answered ``ok: false``, timed out, or died."""


class NodePeer:
    """One ``node peer.mjs`` process: a Yjs doc on a y-websocket provider.

    ``peer.cmd("vote", item_id=..., delta=1)`` sends one JSON line and returns the reply;
    a reply with ``ok: false`` raises :class:`PeerError` (``check=False`` returns it).
    Use as a context manager: the process is always killed at the end.
    """

    def __init__(
        self,
        ws_url: str,
        room: str,
        *,
        load: Path | str | None = None,
        offline: bool = False,
        token: str | None = None,
        label: str = "peer",
    ) -> None:
        args = [NODE, str(HERE / "peer.mjs"), "--url", ws_url, "--room", room]
        if load is not None:
            args += ["--load", str(load)]
        if offline:
            args.append("--offline")
        if token is not None:
            args += ["--token", token]
        self.label = label
        self._proc = JsonLinesProcess(args, HERE)
        self.process = self._proc.process

    def stderr(self) -> str:
        return self._proc.stderr()

    def cmd(
        self, cmd: str, *, reply_timeout: float = 30.0, check: bool = True, **args: Any
    ) -> dict:
        request = {"cmd": cmd, **args}
        try:
            self._proc.send(request)
        except OSError as exc:
            raise PeerError(f"{self.label}: cannot send {request}: {exc}\n{self.stderr()}") from exc
        try:
            reply = self._proc.receive(reply_timeout)
        except TimeoutError:
            raise PeerError(f"{self.label}: no reply to {request} in {reply_timeout}s") from None
        if reply is None:
            raise PeerError(f"{self.label}: exited during {request}\n{self.stderr()}")
        if check and not reply.get("ok"):
            raise PeerError(f"{self.label}: {request} failed: {reply}\n{self.stderr()}")
        return reply

    # Shorthands for what the tests use most.
    def snapshot(self) -> dict:
        return self.cmd("snapshot")["snapshot"]

    def wait_synced(self, timeout: float = 15.0) -> None:
        self.cmd("wait_synced", reply_timeout=timeout + 5, timeout=timeout)

    def wait_for(self, match: dict, timeout: float = 15.0) -> dict:
        """Wait until the peer's snapshot matches ``match`` (partial deep match)."""
        reply = self.cmd(
            "wait_for", reply_timeout=timeout + 5, check=False, match=match, timeout=timeout
        )
        if not reply.get("ok"):
            raise PeerError(f"{self.label}: {match} not reached in {timeout}s: {reply}")
        return reply["snapshot"]

    def wait_exit(self, timeout: float = 15.0) -> int:
        return self.process.wait(timeout)

    def kill(self) -> None:
        self._proc.kill()

    def __enter__(self) -> NodePeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def run_swarm(ws_url: str, room: str, *, count: int, args: list[str], timeout: float) -> dict:
    """Run ``swarm.mjs``: ``count`` providers in one process; returns its JSON report."""
    command = [NODE, str(HERE / "swarm.mjs"), "--url", ws_url, "--room", room]
    command += ["--count", str(count), *args]
    done = subprocess.run(
        command, cwd=HERE, capture_output=True, text=True, timeout=timeout, env=dict(os.environ)
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise PeerError(f"swarm failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def deadline_loop(timeout: float, interval: float = 0.05):
    """Yield until ``timeout`` seconds have passed (poll with a deadline, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        yield
        if time.monotonic() > deadline:
            return
        time.sleep(interval)
