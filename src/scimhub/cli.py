"""The `scimhub` command. Its forms are a contract other tools rely on; keep them.

scimhub serve [--host H] [--port P] [--database-url URL] [--workers N]
scimhub db upgrade [--database-url URL]
scimhub tenant create SLUG [--name NAME] [--database-url URL]
scimhub token create --tenant SLUG [--database-url URL]
scimhub demo [--database-url URL] [--base-url URL]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from scimhub.db.engine import Database
from scimhub.db.migrate import upgrade
from scimhub.settings import Settings
from scimhub.tenancy.tenants import TenantExists, create_tenant, get_tenant
from scimhub.tenancy.tokens import create_token

DEMO_TENANT = "demo"


class CliError(Exception):
    """A failure to report on stderr with exit status 1, without a traceback."""


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(database_url=getattr(args, "database_url", None))


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = Settings.from_env(
        database_url=args.database_url, host=args.host, port=args.port, workers=args.workers
    )
    # SQLite is the embedded default: bring its schema up to date on start. On
    # PostgreSQL several instances may start at once, so migrating is the operator's
    # explicit `scimhub db upgrade`.
    if Database(settings.database_url).dialect == "sqlite":
        upgrade(settings.database_url)
    # Workers are separate processes: they read their settings from the environment.
    os.environ["SCIMHUB_DATABASE_URL"] = settings.database_url
    uvicorn.run(
        "scimhub.web.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
    )


def _db_upgrade(args: argparse.Namespace) -> None:
    upgrade(_settings(args).database_url)
    print("database is up to date")


def _tenant_create(args: argparse.Namespace) -> None:
    db = Database(_settings(args).database_url)
    try:
        with db.write() as conn:
            tenant = create_tenant(conn, args.slug, args.name)
    except TenantExists as exc:
        raise CliError(f"tenant {args.slug!r} already exists") from exc
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    print(f"created tenant {tenant.slug} ({tenant.id})")


def _token_create(args: argparse.Namespace) -> None:
    db = Database(_settings(args).database_url)
    with db.write() as conn:
        tenant = get_tenant(conn, args.tenant)
        if tenant is None:
            raise CliError(f"no tenant {args.tenant!r}")
        token = create_token(conn, tenant.id)
    # The token alone on stdout, so scripts can capture it.
    print(token)


def _demo(args: argparse.Namespace) -> None:
    """What `make run` prints: the demo tenant's SCIM base URL and a fresh token."""
    settings = _settings(args)
    db = Database(settings.database_url)
    with db.write() as conn:
        tenant = get_tenant(conn, DEMO_TENANT)
        if tenant is None:
            tenant = create_tenant(conn, DEMO_TENANT, "Demo")
        token = create_token(conn, tenant.id)
    base = args.base_url.rstrip("/")
    print()
    print("scimhub is starting. Paste these into your identity provider:")
    print(f"  SCIM base URL: {base}/scim/v2/{tenant.slug}")
    print(f"  Bearer token:  {token}")
    print()
    print(f'  Try: curl -H "Authorization: Bearer {token}" {base}/scim/v2/{tenant.slug}/Users')
    print()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scimhub", description="SCIM 2.0 provisioning service")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--database-url", help="default: $SCIMHUB_DATABASE_URL or ./var/scimhub.db")
        return p

    def command(
        group: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        run: Callable[[argparse.Namespace], None],
        help: str,
    ) -> argparse.ArgumentParser:
        p = with_db(group.add_parser(name, help=help))
        p.set_defaults(run=run)
        return p

    serve = command(commands, "serve", _serve, "serve the SCIM API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    command(db, "upgrade", _db_upgrade, "apply migrations")

    tenant = commands.add_parser("tenant", help="tenants").add_subparsers(
        dest="tenant_command", required=True
    )
    create = command(tenant, "create", _tenant_create, "create a tenant")
    create.add_argument("slug")
    create.add_argument("--name")

    token = commands.add_parser("token", help="SCIM tokens").add_subparsers(
        dest="token_command", required=True
    )
    command(token, "create", _token_create, "create a token").add_argument(
        "--tenant", required=True
    )

    demo = command(commands, "demo", _demo, "create the demo tenant and print a token")
    demo.add_argument("--base-url", default="http://127.0.0.1:8000")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except CliError as exc:
        print(f"scimhub: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
