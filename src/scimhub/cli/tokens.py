"""`scimhub token …` and `scimhub admin-key create|list|revoke`. Commands that make a secret print
it alone on stdout (one line), so scripts can capture it; `--json` adds its metadata."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from scimhub.cli.common import (
    ACTOR,
    CliError,
    Handler,
    Subparsers,
    add_json,
    database,
    duration,
    print_json,
    print_table,
    require_tenant,
    settings_of,
    when,
)
from scimhub.tenancy.principals import (
    TENANT_ROLES,
    AdminKeyEntry,
    create_admin_key,
    list_tenant_admin_keys,
    revoke_admin_key,
)
from scimhub.tenancy.tokens import (
    TokenInfo,
    import_token_hash,
    issue_token,
    list_tokens,
    regenerate_token,
    revoke_token,
)


def token_dict(info: TokenInfo) -> dict[str, Any]:
    """A token's listing entry (never its secret or digest)."""
    return {
        "id": info.id,
        "prefix": info.prefix,
        "last4": info.last4,
        "created_at": info.created_at,
        "created_by": info.created_by,
        "last_used_at": info.last_used_at,
        "use_count": info.use_count,
        "expires_at": info.expires_at,
        "revoked": info.revoked,
        "revoked_at": info.revoked_at,
        "revoked_by": info.revoked_by,
        "status": info.status,
        "provider": info.provider,
        "imported": info.imported,
        "replaced_by": info.replaced_by,
    }


def _print_secret(args: argparse.Namespace, secret: str, info: dict[str, Any]) -> None:
    if args.json:
        print_json({"token": secret, **info})
    else:
        print(secret)


def _token_list(args: argparse.Namespace) -> None:
    with database(args) as db, db.read() as conn:
        tenant = require_tenant(conn, args.tenant)
        found = list_tokens(conn, tenant.id)
    if args.json:
        print_json([token_dict(t) for t in found])
        return
    if not found:
        print(f"tenant {tenant.slug} has no tokens")
        return
    rows = [
        [
            t.id,
            f"{t.prefix}…{t.last4}" if t.last4 else t.prefix,
            t.status,
            t.provider or "-",
            when(t.created_at),
            when(t.last_used_at),
            str(t.use_count),
            when(t.expires_at),
        ]
        for t in found
    ]
    headers = ["ID", "TOKEN", "STATUS", "PROVIDER", "CREATED", "LAST USED", "USES", "EXPIRES"]
    print_table(headers, rows)


def _token_create(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    expires_at = datetime.now(UTC) + args.expires_in if args.expires_in else None
    if args.expires_in is not None and not args.expires_in:
        raise CliError("--expires-in must be longer than 0")
    with database(args) as db, db.write() as conn:
        tenant = require_tenant(conn, args.tenant)
        token, info = issue_token(
            conn,
            tenant,
            created_by=ACTOR,
            expires_at=expires_at,
            provider=args.provider,
            require_sso=settings.require_sso,
        )
    _print_secret(args, token, token_dict(info))


def _token_regenerate(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    with database(args) as db, db.write() as conn:
        tenant = require_tenant(conn, args.tenant)
        token, info = regenerate_token(
            conn,
            tenant,
            args.id,
            grace=args.grace,
            created_by=ACTOR,
            require_sso=settings.require_sso,
        )
    _print_secret(args, token, token_dict(info))


def _token_revoke(args: argparse.Namespace) -> None:
    with database(args) as db, db.write() as conn:
        tenant = require_tenant(conn, args.tenant)
        info = revoke_token(conn, tenant.id, args.id, revoked_by=ACTOR)
    if args.json:
        print_json(token_dict(info))
    else:
        print(f"revoked token {info.id} ({info.prefix})")


def _token_import_hash(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    expires_at = datetime.now(UTC) + args.expires_in if args.expires_in else None
    with database(args) as db, db.write() as conn:
        tenant = require_tenant(conn, args.tenant)
        info = import_token_hash(
            conn,
            tenant,
            args.sha512hex,
            created_by=ACTOR,
            provider=args.provider,
            expires_at=expires_at,
            require_sso=settings.require_sso,
        )
    if args.json:
        print_json(token_dict(info))
    else:
        print(f"registered token {info.id} ({info.prefix})")


def _admin_key_create(args: argparse.Namespace) -> None:
    if args.operator and args.role not in (None, "operator"):
        raise CliError("--operator keys have the operator role; leave out --role")
    if not args.operator and args.role is None:
        raise CliError("--role is required with --tenant")
    with database(args) as db, db.write() as conn:
        tenant_id = None if args.operator else require_tenant(conn, args.tenant).id
        key, principal = create_admin_key(
            conn,
            tenant_id=tenant_id,
            role="operator" if args.operator else args.role,
            name=args.name,
            created_by=ACTOR,
        )
    info = {
        "principal_id": principal.id,
        "key_id": principal.key_id,
        "tenant": None if args.operator else args.tenant,
        "tenant_id": principal.tenant_id,
        "role": principal.role,
        "name": principal.name,
    }
    _print_secret(args, key, info)


def admin_key_dict(entry: AdminKeyEntry) -> dict[str, Any]:
    """An admin key's listing entry (never the key or its digest)."""
    return {
        "id": entry.id,
        "principal_id": entry.principal_id,
        "tenant_id": entry.tenant_id,
        "role": entry.role,
        "name": entry.name,
        "prefix": entry.prefix,
        "last4": entry.last4,
        "created_at": entry.created_at,
        "last_used_at": entry.last_used_at,
        "revoked_at": entry.revoked_at,
    }


def _admin_key_list(args: argparse.Namespace) -> None:
    with database(args) as db, db.read() as conn:
        tenant = None if args.operator else require_tenant(conn, args.tenant)
        found = list_tenant_admin_keys(conn, None if tenant is None else tenant.id)
    if args.json:
        print_json([admin_key_dict(k) for k in found])
        return
    if not found:
        print("no operator keys" if tenant is None else f"tenant {tenant.slug} has no admin keys")
        return
    rows = [
        [
            k.id,
            f"{k.prefix}…{k.last4}",
            k.role,
            k.name or "-",
            "revoked" if k.revoked_at else "active",
            when(k.created_at),
            when(k.last_used_at),
            when(k.revoked_at),
        ]
        for k in found
    ]
    headers = ["ID", "KEY", "ROLE", "NAME", "STATUS", "CREATED", "LAST USED", "REVOKED"]
    print_table(headers, rows)


def _admin_key_revoke(args: argparse.Namespace) -> None:
    with database(args) as db, db.write() as conn:
        entry = revoke_admin_key(conn, args.id)
    if args.json:
        print_json(admin_key_dict(entry))
    else:
        print(f"revoked admin key {entry.id} ({entry.prefix}…{entry.last4}, {entry.role})")


def register(
    commands: Subparsers,
    command: Callable[[Subparsers, str, Handler, str], argparse.ArgumentParser],
) -> None:
    token = commands.add_parser("token", help="SCIM tokens").add_subparsers(
        dest="token_command", required=True
    )
    listing = command(token, "list", _token_list, "list a tenant's tokens (never their secrets)")
    listing.add_argument("--tenant", required=True)
    add_json(listing)

    create = command(token, "create", _token_create, "create a token (printed alone, once)")
    create.add_argument("--tenant", required=True)
    create.add_argument(
        "--expires-in", type=duration, metavar="DURATION", help="e.g. 90d (default: never)"
    )
    create.add_argument("--provider", help="bind the token to this provider segment")
    add_json(create)

    regenerate = command(
        token, "regenerate", _token_regenerate, "replace a token (the new one printed alone)"
    )
    regenerate.add_argument("--tenant", required=True)
    regenerate.add_argument("id")
    regenerate.add_argument(
        "--grace",
        type=duration,
        metavar="DURATION",
        help="how long the old token keeps working, e.g. 24h (default: revoked at once)",
    )
    add_json(regenerate)

    revoke = command(token, "revoke", _token_revoke, "revoke a token now")
    revoke.add_argument("--tenant", required=True)
    revoke.add_argument("id")
    add_json(revoke)

    imported = command(
        token, "import-hash", _token_import_hash, "register the SHA-512 hex digest of a token"
    )
    imported.add_argument("--tenant", required=True)
    imported.add_argument("sha512hex", metavar="SHA512HEX")
    imported.add_argument("--expires-in", type=duration, metavar="DURATION")
    imported.add_argument("--provider", help="bind the token to this provider segment")
    add_json(imported)

    admin_key = commands.add_parser("admin-key", help="admin API keys").add_subparsers(
        dest="admin_key_command", required=True
    )
    key = command(admin_key, "create", _admin_key_create, "create an admin API key (printed alone)")
    whose = key.add_mutually_exclusive_group(required=True)
    whose.add_argument("--tenant", help="the tenant the key's principal acts on")
    whose.add_argument("--operator", action="store_true", help="a deployment operator's key")
    key.add_argument("--role", choices=TENANT_ROLES)
    key.add_argument("--name", help="who or what the key is for")
    add_json(key)

    keys = command(admin_key, "list", _admin_key_list, "list admin keys (never the keys)")
    whose_keys = keys.add_mutually_exclusive_group(required=True)
    whose_keys.add_argument("--tenant", help="the tenant whose principals' keys to list")
    whose_keys.add_argument("--operator", action="store_true", help="list operator keys")
    add_json(keys)

    revoke_key = command(admin_key, "revoke", _admin_key_revoke, "revoke an admin key now")
    revoke_key.add_argument("id", metavar="KEY_ID")
    add_json(revoke_key)
