"""The ``playsync`` command: ``serve``, ``seed`` and ``token`` (CONTRACT §1).

``serve``'s flags are generated from :class:`~server.settings.Settings` by pydantic-settings
(``CliSettingsSource`` on the subparser), so every setting is a flag, listed by
``playsync serve --help``, and parsed with the same types and checks as the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from pydantic import ValidationError
from pydantic_settings import CliSettingsSource

from .logging_setup import setup_logging
from .settings import Settings


def _parser() -> tuple[argparse.ArgumentParser, CliSettingsSource[Settings]]:
    parser = argparse.ArgumentParser(prog="playsync", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve",
        help="serve the API, event stream and Yjs sync",
        description="Serve the API, the event stream and Yjs sync. Every flag is also "
        "PLAYSYNC_<FLAG> in the environment or a .env file; flags win.",
    )
    serve_settings = CliSettingsSource(
        Settings,
        root_parser=serve,
        cli_kebab_case=True,
        cli_implicit_flags=True,
        cli_use_class_docs_for_groups=False,
    )

    seed = commands.add_parser("seed", help="store the track library and the demo playlist")
    seed.add_argument("--database-url", help="SQLAlchemy async URL (env PLAYSYNC_DATABASE_URL)")
    seed.add_argument("--tracks-only", action="store_true", help="only the track library")
    _add_token_parser(commands)
    _add_db_commands(commands)
    return parser, serve_settings


def _add_token_parser(commands: argparse._SubParsersAction) -> None:
    token = commands.add_parser("token", help="print a signed access token (CONTRACT §8)")
    token.add_argument("--playlist", required=True, help="a playlist name, or '*' for all")
    token.add_argument("--role", required=True, choices=("read", "write", "admin"))
    token.add_argument("--ttl", default="1h", help="time to live: 90s, 15m, 1h, 7d (default 1h)")
    token.add_argument("--subject", default="playsync", help="who the token names (its sub)")
    token.add_argument("--auth-secret", help="the server's secret (env PLAYSYNC_AUTH_SECRET)")


def _token(settings: Settings, args: argparse.Namespace) -> int:
    """Print a token signed with the server's secret; exit 2 on a bad argument."""
    from .engine.auth import mint, parse_ttl

    if not settings.auth_secret:
        print(
            "playsync token: no secret: pass --auth-secret or set PLAYSYNC_AUTH_SECRET",
            file=sys.stderr,
        )
        return 2
    try:
        token = mint(
            settings.auth_secret,
            playlist=args.playlist,
            role=args.role,
            subject=args.subject,
            ttl_seconds=parse_ttl(args.ttl),
        )
    except ValueError as exc:
        print(f"playsync token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


# -- playsync db upgrade (schema migrations, docs/operations.md) -----------------------------


def _add_db_commands(commands: argparse._SubParsersAction) -> None:
    db = commands.add_parser("db", help="database schema: migrate it to this version")
    actions = db.add_subparsers(dest="db_command", required=True)
    upgrade = actions.add_parser("upgrade", help="migrate the database to the newest schema")
    upgrade.add_argument("--database-url", help="SQLAlchemy async URL (env PLAYSYNC_DATABASE_URL)")
    revision = actions.add_parser(
        "revision", help="write the next revision from the tables' changes (for developers)"
    )
    revision.add_argument("-m", "--message", required=True, help="what the revision changes")


async def _db(settings: Settings, args: argparse.Namespace) -> None:
    import tempfile

    from .engine.storage import Storage

    if args.db_command == "revision":  # compared against a scratch database at head
        with tempfile.TemporaryDirectory() as scratch:
            storage = Storage(f"sqlite+aiosqlite:///{scratch}/revision.db")
            try:
                print(f"wrote {await storage.new_revision(args.message)}: review it")
            finally:
                await storage.close()
        return
    storage = Storage(settings.database_url)
    try:
        before, after = await storage.create_schema()
    finally:
        await storage.close()
    print(f"schema at revision {after}" + (f" (was {before})" if before != after else ""))


def settings_from(
    args: argparse.Namespace, serve_settings: CliSettingsSource[Settings]
) -> Settings:
    """Flags, then the environment, then ``.env``, then the defaults."""
    if args.command == "serve":
        return Settings(_cli_settings_source=serve_settings(parsed_args=args))  # type: ignore[call-arg]
    if args.command == "token":
        return Settings(**({"auth_secret": args.auth_secret} if args.auth_secret else {}))
    url = getattr(args, "database_url", None)
    given = {"database_url": url} if url else {}
    return Settings(**given)


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


def _invalid(error: ValidationError) -> str:
    """One line per bad setting, named as a flag and as its environment variable."""
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "?"
        flag = "--" + field.replace("_", "-")
        lines.append(f"playsync: {flag} / PLAYSYNC_{field.upper()}: {problem['msg']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser, serve_settings = _parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from(args, serve_settings)
    except ValidationError as error:
        print(_invalid(error), file=sys.stderr)
        return 2
    if args.command == "token":
        return _token(settings, args)
    setup_logging(settings.log_format, settings.log_file)
    if args.command == "db":
        asyncio.run(_db(settings, args))
    elif args.command == "seed":
        asyncio.run(_seed(settings, args.tracks_only))
    else:
        from .serving import run

        run(_serve(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
