"""Two processes behind a real nginx, round-robin, no sticky sessions (docs/deployment.md).

nginx runs the configuration the deployment guide ships (``docs/nginx-playsync.conf``),
with only the ports changed. REST requests, a Yjs peer and an event listener all go
through it; every new connection may land on either process.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port
from tests.interop.peers import NodePeer
from tests.realtime.conftest import Rest

from .conftest import RedisServer
from .test_cluster import SNAPSHOT_EVENTS, converged, listening

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
SITE = ROOT / "docs" / "nginx-playsync.conf"


class Proxy:
    """What a client of the balancer needs: its URLs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator:
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx) and could not be")
    processes: list[subprocess.Popen] = []

    def start(backends: list[int]) -> Proxy:
        port = free_port()
        site = SITE.read_text()
        site = site.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{port};")
        site = site.replace(
            "    server 127.0.0.1:4001 max_fails=1 fail_timeout=2s;\n"
            "    server 127.0.0.1:4002 max_fails=1 fail_timeout=2s;\n",
            "".join(f"    server 127.0.0.1:{b} max_fails=1 fail_timeout=2s;\n" for b in backends),
        )
        (tmp_path / "site.conf").write_text(site)
        user = "user root;\n" if os.geteuid() == 0 else ""
        (tmp_path / "nginx.conf").write_text(
            f"{user}worker_processes 1;\ndaemon off;\npid {tmp_path}/nginx.pid;\n"
            f"error_log {tmp_path}/error.log;\nevents {{ worker_connections 512; }}\n"
            f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path}/body;\n"
            f"  proxy_temp_path {tmp_path}/proxy;\n  include {tmp_path}/site.conf;\n}}\n"
        )
        process = subprocess.Popen(
            [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        processes.append(process)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited: {process.stderr.read().decode()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    return Proxy(port)
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("nginx did not answer")

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


async def test_behind_round_robin_nginx_every_client_sees_every_write(
    cluster, nginx, redis_server: RedisServer
):
    a, b = cluster(2, redis_url=redis_server.url)
    proxy = nginx([a.port, b.port])
    name = "balanced"
    # No keep-alive: every request is a new connection, and round-robin alternates them.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with (
        httpx.AsyncClient(base_url=proxy.base_url, timeout=30, limits=limits) as client,
        listening(proxy, name) as listener,  # type: ignore[arg-type]
    ):
        rest = Rest(client, name)
        with NodePeer(proxy.ws_url, name, label="peer-via-nginx") as peer:
            await asyncio.to_thread(peer.wait_synced)
            added = [await rest.add(track_id) for track_id in range(1, 11)]
            ids = {item["id"] for item in added}
            target = added[0]["id"]
            for _ in range(20):
                await rest.vote(target)
            await asyncio.to_thread(peer.cmd, "add", item_id="from-peer", track_id=20)
            ids.add("from-peer")

            # Both processes, asked directly, hold the same playlist.
            async with (
                httpx.AsyncClient(base_url=a.base_url, timeout=30) as on_a,
                httpx.AsyncClient(base_url=b.base_url, timeout=30) as on_b,
            ):
                items = await converged([Rest(on_a, name), Rest(on_b, name)], ids)
            assert {i["id"]: i["votes"] for i in items}[target] == 20
            # Whichever process answers, the balancer shows the same.
            for _ in range(4):
                assert await rest.list() == items
            snapshot = await asyncio.to_thread(
                peer.wait_for, {"by_id": {target: {"votes": 20}}}, 20.0
            )
            assert set(snapshot["by_id"]) == ids

            async with asyncio.timeout(20):
                while True:
                    announced = set(listener.added_ids()) | {
                        item["id"]
                        for m in listener.messages
                        if m.get("type") in SNAPSHOT_EVENTS
                        for item in m["payload"]["items"]
                    }
                    if ids <= announced:
                        break
                    await asyncio.sleep(0.05)
            assert len(listener.added_ids()) == len(set(listener.added_ids()))
