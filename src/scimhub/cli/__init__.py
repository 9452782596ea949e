"""The `scimhub` command. Its forms are a contract other tools rely on; keep them.

scimhub serve [--host H] [--port P] [--database-url URL] [--workers N]
scimhub db upgrade [--database-url URL]
scimhub demo [--database-url URL] [--base-url URL]

scimhub tenant create SLUG [--name NAME]
scimhub tenant list | show SLUG
scimhub tenant update SLUG [--name NAME] [--status active|suspended] [--plan-scim yes|no]
scimhub sso set --tenant SLUG --protocol saml|oidc --idp-id ID [--metadata-url URL]
scimhub sso verify --tenant SLUG            # the connection becomes active
scimhub sso show --tenant SLUG
scimhub scim enable|disable --tenant SLUG
scimhub token list --tenant SLUG
scimhub token create --tenant SLUG [--expires-in DURATION] [--provider P]   # token alone
scimhub token regenerate --tenant SLUG ID [--grace DURATION]              # token alone
scimhub token revoke --tenant SLUG ID
scimhub token import-hash --tenant SLUG SHA512HEX [--expires-in DURATION] [--provider P]
scimhub admin-key create (--tenant SLUG --role ROLE | --operator) [--name N]  # key alone
scimhub admin-key list (--tenant SLUG | --operator)
scimhub admin-key revoke KEY_ID
scimhub export --tenant SLUG --resource users|groups --format json|csv [--output FILE]
scimhub lifecycle purge                     # prints how many retained accounts it purged
scimhub lifecycle show --tenant SLUG
scimhub lifecycle set --tenant SLUG [--delete-policy deprovision|purge] [--retention-days N]
                      [--linking link|refuse] [--default-role KEY|none] [--first-sync-done yes|no]
scimhub lifecycle domain add|remove --tenant SLUG DOMAIN
scimhub webhook add --tenant SLUG --url URL [--events TYPE,...] [--json]   # id and secret
scimhub webhook list --tenant SLUG | remove --tenant SLUG ID
scimhub worker [--once]

Every command but `serve` takes `--database-url` and (except serve, db, demo and
export) `--json`; DURATION is a number and a unit: 30m, 24h, 7d, 3600s. Failures go to
stderr with exit status 1."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError, ProgrammingError

from scimhub.cli import events, export, lifecycle, server, tenants, tokens
from scimhub.cli.common import CliError, Handler, Subparsers
from scimhub.tenancy.errors import DomainError

__all__ = ["CliError", "main"]


def _command(group: Subparsers, name: str, run: Handler, help: str) -> argparse.ArgumentParser:
    p = group.add_parser(name, help=help, description=help)
    p.add_argument("--database-url", help="default: $SCIMHUB_DATABASE_URL or ./var/scimhub.db")
    p.set_defaults(run=run)
    return p


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scimhub", description="SCIM 2.0 provisioning service")
    commands = parser.add_subparsers(dest="command", required=True)
    server.register(commands, _command)
    tenants.register(commands, _command)
    tokens.register(commands, _command)
    export.register(commands, _command)
    lifecycle.register(commands, _command)
    events.register(commands, _command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except (CliError, DomainError) as exc:
        print(f"scimhub: {exc}", file=sys.stderr)
        return 1
    except (OperationalError, ProgrammingError) as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        print(
            f"scimhub: database error: {detail} (is the schema up to date? "
            "run `scimhub db upgrade`)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
