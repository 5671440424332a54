"""Serving the app under hypercorn, configured in one place for ``playsync serve`` and bench/."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Coroutine
from typing import Any

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.protocol import ws_stream
from quart import Quart
from wsproto.extensions import PerMessageDeflate

from . import hypercorn_limits
from .asgi import PlaysyncApp
from .hypercorn_limits import LimitedConfig
from .settings import Settings


class _DeclinedDeflate(PerMessageDeflate):
    """permessage-deflate, never agreed to.

    hypercorn accepts it whenever a client offers it (ws and browsers do) and has no
    setting against it. Compressing each frame once per peer was half the server's time
    relaying Yjs updates (bench/README.md), for small binary updates that barely shrink.
    """

    def accept(self, offer: str) -> None:  # type: ignore[override]
        return None


def decline_websocket_compression() -> None:
    ws_stream.PerMessageDeflate = _DeclinedDeflate  # type: ignore[misc]


def run[T](main: Coroutine[Any, Any, T], settings: Settings) -> T:
    """``asyncio.run`` on the event loop the settings name (``--event-loop``).

    asyncio by default: uvloop served 15 to 24% more REST requests per second, but its relay
    to 200 peers arrived about 25% later, side by side (bench/README.md, "Event loops").
    hypercorn's own ``worker_class`` setting applies only to ``hypercorn.run``, which
    playsync does not use.
    """
    if settings.event_loop == "uvloop":
        import uvloop

        return asyncio.run(main, loop_factory=uvloop.new_event_loop)
    return asyncio.run(main)


def hypercorn_config(settings: Settings) -> LimitedConfig:
    config = LimitedConfig()
    config.bind = [f"{settings.host}:{settings.port}"]
    if settings.workers > 1:
        config.bind = [f"fd://{reuse_port_socket(settings.host, settings.port).fileno()}"]
    config.backlog = settings.backlog
    config.websocket_max_message_size = settings.max_message_bytes
    config.send_timeout = settings.send_timeout_seconds
    config.ping_seconds = settings.ping_seconds or None
    config.accesslog = None  # server/surfaces/ops.py logs each request, with its playlist
    config.errorlog = logging.getLogger("hypercorn.error")  # through our handlers and format
    # Longer than clients keep idle connections (httpx: 5 s, browsers: ~60 s), so a client
    # never sends on a connection the server is closing at that moment (hypercorn: 5 s).
    config.keep_alive_timeout = 75
    config.graceful_timeout = 3  # then the app's shutdown runs, whatever is still open
    return config


SHUTDOWN_DEADLINE = 5.0
"""Seconds from SIGTERM until connections still open are cut (rooms stored first), so the
process exits within the 10 s that CONTRACT §10 allows: a cut peer's connection may still take
up to 3 s to finish (``WebSocketConnection.finish`` drains it), and at 7 s that came to 10."""
_SHARED_SOCKETS: list[socket.socket] = []


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket that the other workers bind too (SO_REUSEPORT): the kernel
    spreads connections over the processes, none of which is a single point of failure."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    _SHARED_SOCKETS.append(sock)  # kept open for the process's life
    return sock


async def serve(app: Quart, settings: Settings, banner: str = "playsync") -> None:
    """Serve until SIGINT or SIGTERM, then stop gracefully (docs/operations.md).

    On the signal the app closes its WebSockets; hypercorn stops accepting, waits for the
    connections to end, and runs the app's shutdown, which stores every room. A connection
    that will not end (hypercorn waits for each without a limit) is cut at the deadline,
    once every room is stored.
    """
    decline_websocket_compression()
    hypercorn_limits.install()
    shutdown = asyncio.Event()
    log = logging.getLogger("playsync")

    def stop() -> None:
        if shutdown.is_set():
            return
        log.info("shutting down")
        if isinstance(app, PlaysyncApp):
            app.begin_shutdown()
        shutdown.set()

    loop = asyncio.get_running_loop()
    log.info("event loop: %s.%s", type(loop).__module__, type(loop).__name__)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    print(f"{banner} serving on http://{settings.host}:{settings.port}", flush=True)
    serving = asyncio.ensure_future(
        hypercorn_serve(app, hypercorn_config(settings), shutdown_trigger=shutdown.wait)
    )
    signalled = asyncio.ensure_future(shutdown.wait())
    await asyncio.wait({serving, signalled}, return_when=asyncio.FIRST_COMPLETED)
    signalled.cancel()
    try:
        await asyncio.wait_for(asyncio.shield(serving), SHUTDOWN_DEADLINE)
    except TimeoutError:
        log.warning(
            "connections still open %.0fs after the signal; cutting them", SHUTDOWN_DEADLINE
        )
        if isinstance(app, PlaysyncApp):
            await app.store_every_room()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
