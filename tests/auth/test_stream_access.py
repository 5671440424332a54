"""The event stream and ``/yjs/`` with ``--auth-secret``: ``?token=`` at the handshake.

WebSockets are refused after the handshake with close 4401 (no valid token) or
4403 (another playlist), which browsers and y-websocket see (and do not retry);
the SSE stream is plain HTTP and answers 401/403 with the error format. Every
role may listen and sync.
"""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from ..api.conftest import assert_error
from .conftest import KINDS, REFUSED_401, token, token_of

pytestmark = pytest.mark.timeout(120)

CONNECTED = {"type": "connection.established", "message": "Connected to playlist updates"}
WAIT = 10.0


def refusal(kind: str) -> int | None:
    """The close code (and HTTP status - 4000) a kind of token gets; None: let in."""
    if kind in REFUSED_401:
        return 4401
    if kind == "wrong-playlist":
        return 4403
    return None


def with_token(url: str, value: str | None) -> str:
    return url if value is None else f"{url}?token={value}"


def closed_code(url: str) -> int:
    """Connect and read until the server closes; the close code."""
    with ws_connect(url, open_timeout=WAIT) as ws, pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=WAIT)
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code


def stream_paths(name: str) -> tuple[str, str]:
    """The event socket and SSE paths of a playlist (the default one has its own)."""
    if name == "default":
        return "/ws/playlist/", "/api/stream"
    return f"/ws/playlists/{name}/", f"/api/playlists/{name}/stream"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("named", [False, True], ids=["default", "named"])
def test_the_event_socket_takes_a_fitting_token_and_refuses_others_with_44xx(
    server, admin: httpx.Client, playlist: str, named: bool, kind: str
) -> None:
    name = playlist if named else "default"
    socket_path, _ = stream_paths(name)
    url = with_token(server.ws_url + socket_path, token_of(kind, name))
    code = refusal(kind)
    if code is not None:
        assert closed_code(url) == code
        return
    with ws_connect(url, open_timeout=WAIT) as ws:
        assert json.loads(ws.recv(timeout=WAIT)) == CONNECTED
        base = "/api/playlist" if name == "default" else f"/api/playlists/{name}"
        for item in admin.get(f"{base}/").json():  # the default playlist is shared
            admin.delete(f"{base}/{item['id']}/")
        added = admin.post(f"{base}/", json={"track_id": 12}).json()
        while True:  # the snapshot on connect, and earlier events of the default playlist
            message = json.loads(ws.recv(timeout=WAIT))
            if message.get("type") == "track.added" and message["payload"]["id"] == added["id"]:
                break


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("named", [False, True], ids=["default", "named"])
def test_the_sse_stream_takes_a_fitting_token_and_refuses_others_with_401_or_403(
    server, playlist: str, named: bool, kind: str
) -> None:
    name = playlist if named else "default"
    _, sse_path = stream_paths(name)
    url = with_token(server.base_url + sse_path, token_of(kind, name))
    code = refusal(kind)
    with httpx.stream("GET", url, timeout=WAIT) as response:
        if code is not None:
            response.read()
            assert_error(response, code - 4000, "UNAUTHORIZED" if code == 4401 else "FORBIDDEN")
            return
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines) == "event: connection.established"
        assert json.loads(next(lines).removeprefix("data: ")) == CONNECTED


def test_the_sse_stream_also_takes_a_bearer_header(server, playlist: str) -> None:
    headers = {"Authorization": f"Bearer {token(playlist, 'read')}"}
    url = f"{server.base_url}/api/playlists/{playlist}/stream"
    with httpx.stream("GET", url, headers=headers, timeout=WAIT) as response:
        assert response.status_code == 200
        assert next(response.iter_lines()) == "event: connection.established"


@pytest.mark.parametrize("kind", KINDS)
def test_yjs_takes_a_fitting_token_and_refuses_others_with_44xx(
    server, playlist: str, kind: str
) -> None:
    url = with_token(f"{server.ws_url}/yjs/{playlist}", token_of(kind, playlist))
    code = refusal(kind)
    if code is not None:
        assert closed_code(url) == code
        return
    with ws_connect(url, open_timeout=WAIT) as ws:
        greeting = ws.recv(timeout=WAIT)
        assert isinstance(greeting, bytes) and greeting[:2] == b"\x00\x00"  # sync step 1


def test_a_token_for_one_playlist_opens_no_other_on_any_socket(server, playlist: str) -> None:
    mine = token(playlist, "admin")
    other = f"{playlist}-x"
    assert closed_code(f"{server.ws_url}/yjs/{other}?token={mine}") == 4403
    assert closed_code(f"{server.ws_url}/ws/playlists/{other}/?token={mine}") == 4403
    assert closed_code(f"{server.ws_url}/ws/playlist/?token={mine}") == 4403


SHORT = 8  # seconds a short-lived token lives: long enough to connect on a busy machine


def test_a_websocket_ends_with_4401_when_its_token_expires(server, playlist: str) -> None:
    for path, first in ((f"/yjs/{playlist}", bytes), (f"/ws/playlists/{playlist}/", str)):
        short = token(playlist, "read", ttl=SHORT)
        with ws_connect(f"{server.ws_url}{path}?token={short}", open_timeout=WAIT) as ws:
            assert isinstance(ws.recv(timeout=WAIT), first)  # accepted, then...
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=WAIT + SHORT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401, path
        assert "expired" in closed.value.rcvd.reason


def test_the_sse_stream_ends_when_its_token_expires(server, playlist: str) -> None:
    url = f"{server.base_url}/api/playlists/{playlist}/stream?token="
    with httpx.stream("GET", url + token(playlist, "read", ttl=SHORT), timeout=WAIT) as response:
        assert response.status_code == 200
        lines = list(response.iter_lines())  # ends: the server closes the stream
    assert lines[0] == "event: connection.established"
