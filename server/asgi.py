"""The Quart app, with ``/yjs/*`` websockets served straight from ASGI (see websocket.py)."""

from __future__ import annotations

from quart import Quart

from .surfaces.context import EXTENSION
from .surfaces.websocket import Receive, Scope, Send
from .surfaces.yjs import is_yjs_scope, serve_yjs


class PlaysyncApp(Quart):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if is_yjs_scope(scope):
            await serve_yjs(self.extensions[EXTENSION], scope, receive, send)
            return
        await super().__call__(scope, receive, send)
