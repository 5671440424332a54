"""Relayed messages are framed once and written straight to each peer's socket.

``server.hypercorn_limits.server_frame`` builds the frame that wsproto would have sent
(hypercorn's path, which the server takes whenever it cannot write at once); a peer must
not be able to tell the two apart, at every payload-length encoding of RFC 6455.
"""

from __future__ import annotations

import pytest
from wsproto.frame_protocol import FrameProtocol

from server.hypercorn_limits import server_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200_000])
def test_a_frame_is_the_one_wsproto_would_send(size):
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert server_frame(payload) == FrameProtocol(client=False, extensions=[]).send_data(payload)


def test_the_same_message_is_framed_once():
    payload = b"\x00\x02" + bytes(40)
    assert server_frame(payload) is server_frame(payload)
    other = bytes(payload)  # equal, but another message: framed anew
    assert server_frame(other) == server_frame(payload)
