"""The ``playsync`` command: ``serve`` and ``seed`` (CONTRACT §1)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from .logging_setup import setup_logging
from .settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="playsync", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API, event stream and Yjs sync")
    serve.add_argument("--host", help="interface to bind (env PLAYSYNC_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (env PLAYSYNC_PORT, default 4000)")
    serve.add_argument("--database-url", help="SQLAlchemy async URL (env PLAYSYNC_DATABASE_URL)")
    serve.add_argument("--no-seed", action="store_true", help="do not seed an empty database")
    serve.add_argument(
        "--paginate",
        action="store_true",
        default=None,
        help="wrap every list in {count, next, previous, results} (env PLAYSYNC_PAGINATE=1)",
    )

    _add_log_options(serve)

    seed = commands.add_parser("seed", help="store the track library and the demo playlist")
    seed.add_argument("--database-url", help="SQLAlchemy async URL (env PLAYSYNC_DATABASE_URL)")
    seed.add_argument("--tracks-only", action="store_true", help="only the track library")
    _add_db_commands(commands)
    return parser


def _add_log_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--log-format",
        choices=("text", "json"),
        help="text or json lines (env PLAYSYNC_LOG_FORMAT)",
    )
    command.add_argument("--log-file", help="log to this file, rotated (env PLAYSYNC_LOG_FILE)")


# -- playsync db upgrade (schema migrations, docs/operations.md) -----------------------------


def _add_db_commands(commands: argparse._SubParsersAction) -> None:
    db = commands.add_parser("db", help="database schema: migrate it to this version")
    actions = db.add_subparsers(dest="db_command", required=True)
    upgrade = actions.add_parser("upgrade", help="migrate the database to the newest schema")
    upgrade.add_argument("--database-url", help="SQLAlchemy async URL (env PLAYSYNC_DATABASE_URL)")


async def _db_upgrade(settings: Settings) -> None:
    from .engine.storage import Storage

    storage = Storage(settings.database_url)
    try:
        before, after = await storage.create_schema()
    finally:
        await storage.close()
    print(f"schema at revision {after}" + (f" (was {before})" if before != after else ""))


def settings_from(args: argparse.Namespace) -> Settings:
    """Defaults, then environment, then flags."""
    settings = Settings.from_env()
    for name in ("host", "port", "database_url", "log_format", "log_file"):
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

    storage = Storage(settings.database_url)
    if settings.seed and await is_empty(storage):
        await seed(storage)
        logging.getLogger("playsync").info("seeded an empty database")
    await serve(create_app(settings, storage=storage), settings)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = settings_from(args)
    setup_logging(settings.log_format, settings.log_file)
    if args.command == "db":
        asyncio.run(_db_upgrade(settings))
    elif args.command == "seed":
        asyncio.run(_seed(settings, args.tracks_only))
    else:
        asyncio.run(_serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
