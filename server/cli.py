"""The ``playsync`` command: ``serve`` and ``seed`` (CONTRACT §1).

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
    return parser, serve_settings


def settings_from(
    args: argparse.Namespace, serve_settings: CliSettingsSource[Settings]
) -> Settings:
    """Flags, then the environment, then ``.env``, then the defaults."""
    if args.command == "serve":
        return Settings(_cli_settings_source=serve_settings(parsed_args=args))  # type: ignore[call-arg]
    given = {"database_url": args.database_url} if args.database_url else {}
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

    storage = Storage(settings.database_url)
    if settings.seed and await is_empty(storage):
        await seed(storage)
        logging.getLogger("playsync").info("seeded an empty database")
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
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = settings_from(args, serve_settings)
    except ValidationError as error:
        print(_invalid(error), file=sys.stderr)
        return 2
    if args.command == "seed":
        asyncio.run(_seed(settings, args.tracks_only))
    else:
        asyncio.run(_serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
