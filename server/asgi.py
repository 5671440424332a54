"""The Quart app, with ``/yjs/*`` websockets served straight from ASGI (see websocket.py)."""

from __future__ import annotations

from quart import Quart

from .surfaces.context import EXTENSION
from .surfaces.ops import begin_shutdown, refuse_websocket
from .surfaces.websocket import Receive, Scope, Send
from .surfaces.yjs import is_yjs_scope, serve_yjs


class PlaysyncApp(Quart):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] == "websocket" and self.extensions[EXTENSION].draining:
            await refuse_websocket(receive, send)
            return
        if is_yjs_scope(scope):
            await serve_yjs(self.extensions[EXTENSION], scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def begin_shutdown(self) -> None:
        """Close the long-lived connections, so that the server can stop (serving.py)."""
        begin_shutdown(self.extensions[EXTENSION])

    async def store_every_room(self) -> None:
        """Store and unload every room now (shutdown past its deadline; idempotent)."""
        await self.extensions[EXTENSION].rooms.__aexit__(None, None, None)
