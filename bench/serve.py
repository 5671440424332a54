"""Serve :mod:`bench.app` under hypercorn, configured as ``playsync serve`` configures it.

    python -m bench.serve --port P --database-url sqlite+aiosqlite:///path.db

No seeding: the benchmark prepares its database itself.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from hypercorn.asyncio import serve
from hypercorn.config import Config

from server.settings import Settings

from .app import create_bench_app


async def _serve(settings: Settings) -> None:
    app = create_bench_app(settings)
    # The same settings as server.cli._serve.
    config = Config()
    config.bind = [f"{settings.host}:{settings.port}"]
    config.websocket_max_message_size = settings.max_message_bytes
    config.accesslog = None
    config.graceful_timeout = 5
    shutdown = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shutdown.set)
    print(f"bench app serving on http://{settings.host}:{settings.port}", flush=True)
    await serve(app, config, shutdown_trigger=shutdown.wait)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings.from_env()
    settings.host, settings.port, settings.database_url = args.host, args.port, args.database_url
    settings.seed = False
    asyncio.run(_serve(settings))


if __name__ == "__main__":
    main()
