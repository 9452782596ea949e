"""`scimhub serve`, `scimhub db upgrade` and `scimhub demo`."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from scimhub.cli.common import ACTOR, Handler, Subparsers, database, settings_of
from scimhub.db.engine import Database
from scimhub.db.migrate import upgrade
from scimhub.settings import Settings
from scimhub.tenancy.sso import get_connection, set_connection, set_state
from scimhub.tenancy.tenants import create_tenant, get_tenant, update_tenant
from scimhub.tenancy.tokens import issue_token

DEMO_TENANT = "demo"
DEMO_IDP = "https://idp.example.com/demo"


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
        access_log=settings.access_log,
    )


def _db_upgrade(args: argparse.Namespace) -> None:
    upgrade(settings_of(args).database_url)
    print("database is up to date")


def _demo(args: argparse.Namespace) -> None:
    """What `make run` prints: the demo tenant's SCIM base URL and a fresh token. The
    demo tenant passes every gate: active, SCIM included and enabled, SSO active."""
    settings = settings_of(args)
    with database(args) as db, db.write() as conn:
        tenant = get_tenant(conn, DEMO_TENANT) or create_tenant(conn, DEMO_TENANT, "Demo")
        tenant = update_tenant(
            conn, tenant.slug, status="active", plan_includes_scim=True, scim_enabled=True
        )
        if get_connection(conn, tenant.id) is None:
            set_connection(conn, tenant.id, protocol="saml", idp_id=DEMO_IDP)
        set_state(conn, tenant.id, "active")
        token, _ = issue_token(
            conn, tenant, created_by=f"{ACTOR}:demo", require_sso=settings.require_sso
        )
    base = args.base_url.rstrip("/")
    print()
    print("scimhub is starting. Paste these into your identity provider:")
    print(f"  SCIM base URL: {base}/scim/v2/{tenant.slug}")
    print(f"  Bearer token:  {token}")
    print()
    print(f'  Try: curl -H "Authorization: Bearer {token}" {base}/scim/v2/{tenant.slug}/Users')
    print()


def register(
    commands: Subparsers,
    command: Callable[[Subparsers, str, Handler, str], argparse.ArgumentParser],
) -> None:
    serve = command(commands, "serve", _serve, "serve the SCIM API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    command(db, "upgrade", _db_upgrade, "apply migrations")

    demo = command(commands, "demo", _demo, "create the demo tenant and print a token")
    demo.add_argument("--base-url", default="http://127.0.0.1:8000")
