"""The yjs oracle (Node) for the whole directory: one process per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..interop.peers import HERE as INTEROP
from .yjs import NODE, YjsTool


@pytest.fixture(scope="module")
def yjs() -> Iterator[YjsTool]:
    if NODE is None or not (INTEROP / "node_modules" / "yjs").exists():
        pytest.skip("node and tests/interop/node_modules (make install-node) are needed")
    tool = YjsTool()
    yield tool
    tool.close()
