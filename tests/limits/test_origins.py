"""Browser origins (CONTRACT §8, last point): a page elsewhere cannot drive the server.

A cross-origin ``text/plain`` POST needs no preflight, and WebSocket handshakes are never
preflighted: the server checks ``Origin`` on every REST write and both handshakes.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tests.api.conftest import assert_error

EVIL = "http://evil.example"
ALLOWED = "http://localhost:3000"  # on the default CORS allow-list


def _simple_post(api: httpx.Client, playlist: str, origin: str | None) -> httpx.Response:
    """What a form or fetch(mode: no-cors) on another site sends: text/plain, no preflight."""
    headers = {"content-type": "text/plain"}
    if origin is not None:
        headers["origin"] = origin
    return api.post(
        f"/api/playlists/{playlist}/", content=json.dumps({"track_id": 5}), headers=headers
    )


def test_a_cross_origin_write_is_403_and_writes_nothing(api, playlist):
    error = assert_error(_simple_post(api, playlist, EVIL), 403, "FORBIDDEN_ORIGIN")
    assert error["details"] == {"origin": EVIL}
    assert api.get(f"/api/playlists/{playlist}/").json() == []
    assert_error(_simple_post(api, playlist, "null"), 403, "FORBIDDEN_ORIGIN")
    assert_error(
        api.post(f"/api/playlists/{playlist}/stop/", headers={"origin": EVIL}),
        403,
        "FORBIDDEN_ORIGIN",
    )


@pytest.mark.parametrize("origin", [None, ALLOWED, "own"], ids=["none", "allow-list", "own"])
def test_writes_without_origin_from_the_allow_list_or_our_own_origin_pass(
    api, server, playlist, origin
):
    if origin == "own":
        origin = server.base_url
    assert _simple_post(api, playlist, origin).status_code == 201


def test_reads_from_any_origin_are_unaffected(api, playlist):
    assert api.get(f"/api/playlists/{playlist}/", headers={"origin": EVIL}).status_code == 200


@pytest.mark.parametrize("path", ["/yjs/{}", "/ws/playlists/{}/"])
async def test_a_websocket_handshake_from_another_origin_is_refused(server, playlist, path):
    url = server.ws_url + path.format(playlist)
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with asyncio.timeout(30):
            await websockets.connect(url, origin=EVIL)
    response = refused.value.response
    assert response.status_code == 403
    assert json.loads(response.body)["error"]["code"] == "FORBIDDEN_ORIGIN"
    for origin in (None, ALLOWED, server.base_url):
        async with asyncio.timeout(30):
            async with websockets.connect(url, origin=origin) as ws:
                await ws.recv()  # the greeting: accepted
