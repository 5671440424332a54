"""Serve :mod:`bench.app` under hypercorn, configured as ``playsync serve`` configures it.

    python -m bench.serve --port P --database-url sqlite+aiosqlite:///path.db

No seeding: the benchmark prepares its database itself.
"""

from __future__ import annotations

import argparse
import logging

from server.serving import run, serve
from server.settings import Settings

from .app import create_bench_app


async def _serve(settings: Settings) -> None:
    await serve(create_bench_app(settings), settings, banner="bench app")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings()
    settings.host, settings.port, settings.database_url = args.host, args.port, args.database_url
    settings.seed = False
    run(_serve(settings), settings)


if __name__ == "__main__":
    main()
