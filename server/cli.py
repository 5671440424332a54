"""The ``playsync`` command: ``serve`` and ``seed`` (CONTRACT §1)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from .settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="playsync", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API, event stream and Yjs sync")
    serve.add_argument("--host", help="interface to bind (env PLAYSYNC_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (env PLAYSYNC_PORT, default 4000)")
    serve.add_argument("--database-url", help="SQLAlchemy async URL (env PLAYSYNC_DATABASE_URL)")
    serve.add_argument("--no-seed", action="store_true", help="do not seed an empty database")
    serve.add_argument("--redis-url", help="Redis between processes (env PLAYSYNC_REDIS_URL)")
    serve.add_argument("--workers", type=int, help="processes on one port (env PLAYSYNC_WORKERS)")
    serve.add_argument(
        "--paginate",
        action="store_true",
        default=None,
        help="wrap every list in {count, next, previous, results} (env PLAYSYNC_PAGINATE=1)",
    )

    seed = commands.add_parser("seed", help="store the track library and the demo playlist")
    seed.add_argument("--database-url", help="SQLAlchemy async URL (env PLAYSYNC_DATABASE_URL)")
    seed.add_argument("--tracks-only", action="store_true", help="only the track library")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    """Defaults, then environment, then flags."""
    settings = Settings.from_env()
    for name in ("host", "port", "database_url", "redis_url", "workers"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(settings, name, value)
    if getattr(args, "paginate", None):
        settings.paginate = True
    if getattr(args, "no_seed", False):
        settings.seed = False
    return settings


async def _seed(settings: Settings, tracks_only: bool) -> None:
    from .engine.storage import Storage
    from .seed import seed

    storage = Storage(settings.database_url)
    try:
        result = await seed(storage, tracks_only=tracks_only)
    finally:
        await storage.close()
    print(
        f"seeded {result.tracks_added} tracks"
        + (", and the demo playlist" if result.demo_playlist else "")
    )


async def _serve(settings: Settings) -> None:
    from .app import create_app
    from .engine.storage import Storage
    from .seed import is_empty, seed
    from .serving import serve
    from .workers import is_worker, supervise

    storage = Storage(settings.database_url)
    if settings.seed and await is_empty(storage):
        await seed(storage)
        logging.getLogger("playsync").info("seeded an empty database")
    if settings.workers > 1 and not is_worker():
        await storage.create_schema()  # once, before the workers race to create it
        await storage.close()
        await supervise(settings.workers)
        return
    await serve(create_app(settings, storage=storage), settings)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings_from(args)
    if args.command == "seed":
        asyncio.run(_seed(settings, args.tracks_only))
    else:
        asyncio.run(_serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
