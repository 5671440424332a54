"""WebSocket handshakes: the server declines permessage-deflate.

Compressing every relayed Yjs update once per peer was half the server's time in the
fan-out benchmark; the reference server declines it too. hypercorn accepts it whenever it
is offered, so server/serving.py turns it down; this pins that across hypercorn upgrades.
"""

from __future__ import annotations

import pytest
import websockets

from .conftest import WAIT


@pytest.mark.parametrize("path", ["/yjs/handshake", "/ws/playlist/"])
async def test_an_offer_of_compression_is_declined(server, path):
    async with websockets.connect(
        f"{server.ws_url}{path}", compression="deflate", open_timeout=WAIT
    ) as ws:
        assert ws.response is not None
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        assert ws.request is not None
        assert "permessage-deflate" in ws.request.headers["Sec-WebSocket-Extensions"]
