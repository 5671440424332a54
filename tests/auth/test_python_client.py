"""The notebooks' Python client (``examples/playsync_client.py``) against a server with auth."""

from __future__ import annotations

import sys

import pytest

from ..conftest import ROOT
from .conftest import SECRET

sys.path.insert(0, str(ROOT / "examples"))  # where the notebooks import it from
from playsync_client import LocalServer, Replica, rest_client, wait_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def local() -> LocalServer:
    with LocalServer(auth_secret=SECRET) as server:
        yield server


async def test_replicas_and_rest_clients_carry_their_tokens(local: LocalServer) -> None:
    name = "py-client"
    writer = Replica("writer", local.ws_url, name, token=local.token(name, "write"))
    reader = Replica("reader", local.ws_url, name, token=local.token(name, "read"))
    await writer.connect()
    await reader.connect()
    try:
        item = writer.add(8)
        await wait_until(lambda: [i.id for i in reader.playlist().items] == [item])
        with rest_client(local.base_url, local.token(name, "read")) as api:
            rest = await wait_until(lambda: api.get(f"/api/playlists/{name}/").json())
            assert [entry["id"] for entry in rest] == [item]
        with rest_client(local.base_url) as anonymous:
            assert anonymous.get(f"/api/playlists/{name}/").status_code == 401
    finally:
        await writer.disconnect()
        await reader.disconnect()
