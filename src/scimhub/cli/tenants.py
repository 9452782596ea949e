"""`scimhub tenant …`, `scimhub sso …` and `scimhub scim enable|disable`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from scimhub.cli.common import (
    CliError,
    Handler,
    Subparsers,
    add_json,
    database,
    print_fields,
    print_json,
    print_table,
    require_tenant,
    settings_of,
    when,
    yes_no,
)
from scimhub.tenancy.gates import scim_refusal
from scimhub.tenancy.sso import PROTOCOLS, SsoConnection, get_connection, set_connection, set_state
from scimhub.tenancy.tenants import (
    STATUSES,
    Tenant,
    TenantExists,
    create_tenant,
    list_tenants,
    update_tenant,
)


def _sso_dict(sso: SsoConnection | None) -> dict[str, Any] | None:
    if sso is None:
        return None
    return {
        "protocol": sso.protocol,
        "idp_id": sso.idp_id,
        "metadata_url": sso.metadata_url,
        "state": sso.state,
        "updated_at": sso.updated_at,
    }


def _tenant_dict(conn: Connection, tenant: Tenant, require_sso: bool) -> dict[str, Any]:
    sso = get_connection(conn, tenant.id)
    refusal = scim_refusal(tenant, sso, require_sso=require_sso)
    return {
        "id": tenant.id,
        "slug": tenant.slug,
        "name": tenant.name,
        "status": tenant.status,
        "plan_includes_scim": tenant.plan_includes_scim,
        "scim_enabled": tenant.scim_enabled,
        "created_at": tenant.created_at,
        "sso": _sso_dict(sso),
        # Whether SCIM is served and tokens may be issued: None, or why not.
        "scim_refusal": {"code": refusal.code, "message": refusal.message} if refusal else None,
    }


def _show_tenant(item: dict[str, Any]) -> None:
    sso = item["sso"]
    refusal = item["scim_refusal"]
    print_fields(
        [
            ("tenant", f"{item['slug']} ({item['id']})"),
            ("name", item["name"]),
            ("status", item["status"]),
            ("plan includes SCIM", "yes" if item["plan_includes_scim"] else "no"),
            ("SCIM enabled", "yes" if item["scim_enabled"] else "no"),
            ("created", when(item["created_at"])),
            (
                "SSO",
                f"{sso['protocol']} {sso['idp_id']} ({sso['state']})" if sso else "not configured",
            ),
            ("SCIM service", f"refused: {refusal['message']}" if refusal else "available"),
        ]
    )


def _tenant_create(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    with database(args) as db:
        try:
            with db.write() as conn:
                tenant = create_tenant(conn, args.slug, args.name)
                item = _tenant_dict(conn, tenant, settings.require_sso)
        except TenantExists as exc:
            raise CliError(f"tenant {args.slug!r} already exists") from exc
    if args.json:
        print_json(item)
    else:
        print(f"created tenant {tenant.slug} ({tenant.id})")


def _tenant_list(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    with database(args) as db, db.read() as conn:
        items = [_tenant_dict(conn, t, settings.require_sso) for t in list_tenants(conn)]
    if args.json:
        print_json(items)
        return
    if not items:
        print("no tenants")
        return
    rows = [
        [
            i["slug"],
            i["name"],
            i["status"],
            "yes" if i["plan_includes_scim"] else "no",
            "yes" if i["scim_enabled"] else "no",
            i["sso"]["state"] if i["sso"] else "-",
            "available" if i["scim_refusal"] is None else i["scim_refusal"]["code"],
        ]
        for i in items
    ]
    print_table(["SLUG", "NAME", "STATUS", "PLAN", "SCIM", "SSO", "SCIM SERVICE"], rows)


def _tenant_show(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    with database(args) as db, db.read() as conn:
        item = _tenant_dict(conn, require_tenant(conn, args.slug), settings.require_sso)
    if args.json:
        print_json(item)
    else:
        _show_tenant(item)


def _update(args: argparse.Namespace, slug: str, **changes: Any) -> None:
    settings = settings_of(args)
    with database(args) as db, db.write() as conn:
        require_tenant(conn, slug)
        tenant = update_tenant(conn, slug, **changes)
        item = _tenant_dict(conn, tenant, settings.require_sso)
    if args.json:
        print_json(item)
    else:
        _show_tenant(item)


def _tenant_update(args: argparse.Namespace) -> None:
    if args.name is None and args.status is None and args.plan_scim is None:
        raise CliError("nothing to update: give --name, --status or --plan-scim")
    _update(args, args.slug, name=args.name, status=args.status, plan_includes_scim=args.plan_scim)


def _scim_enable(args: argparse.Namespace) -> None:
    _update(args, args.tenant, scim_enabled=True)


def _scim_disable(args: argparse.Namespace) -> None:
    _update(args, args.tenant, scim_enabled=False)


def _print_sso(args: argparse.Namespace, sso: SsoConnection) -> None:
    if args.json:
        print_json(_sso_dict(sso))
        return
    print_fields(
        [
            ("protocol", sso.protocol),
            ("IdP id", sso.idp_id),
            ("metadata URL", sso.metadata_url),
            ("state", sso.state),
            ("updated", when(sso.updated_at)),
        ]
    )


def _sso_set(args: argparse.Namespace) -> None:
    with database(args) as db, db.write() as conn:
        tenant = require_tenant(conn, args.tenant)
        sso = set_connection(
            conn,
            tenant.id,
            protocol=args.protocol,
            idp_id=args.idp_id,
            metadata_url=args.metadata_url,
        )
    _print_sso(args, sso)


def _sso_verify(args: argparse.Namespace) -> None:
    """The host app verified a login through the connection: it becomes active."""
    with database(args) as db, db.write() as conn:
        tenant = require_tenant(conn, args.tenant)
        if get_connection(conn, tenant.id) is None:
            raise CliError(
                f"tenant {tenant.slug!r} has no SSO connection: run `scimhub sso set` first"
            )
        sso = set_state(conn, tenant.id, "active")
    _print_sso(args, sso)


def _sso_show(args: argparse.Namespace) -> None:
    with database(args) as db, db.read() as conn:
        tenant = require_tenant(conn, args.tenant)
        sso = get_connection(conn, tenant.id)
    if sso is None:
        if args.json:
            print_json(None)
            return
        raise CliError(f"tenant {tenant.slug!r} has no SSO connection")
    _print_sso(args, sso)


def register(
    commands: Subparsers,
    command: Callable[[Subparsers, str, Handler, str], argparse.ArgumentParser],
) -> None:
    tenant = commands.add_parser("tenant", help="tenants").add_subparsers(
        dest="tenant_command", required=True
    )
    create = command(tenant, "create", _tenant_create, "create a tenant")
    create.add_argument("slug")
    create.add_argument("--name")
    add_json(create)
    add_json(command(tenant, "list", _tenant_list, "list tenants"))
    show = command(tenant, "show", _tenant_show, "show a tenant and whether SCIM is served")
    show.add_argument("slug")
    add_json(show)
    update = command(tenant, "update", _tenant_update, "change a tenant")
    update.add_argument("slug")
    update.add_argument("--name")
    update.add_argument("--status", choices=STATUSES)
    update.add_argument(
        "--plan-scim", type=yes_no, metavar="yes|no", help="whether the plan includes SCIM"
    )
    add_json(update)

    sso = commands.add_parser("sso", help="the tenant's SSO connection").add_subparsers(
        dest="sso_command", required=True
    )
    set_ = command(sso, "set", _sso_set, "configure the SSO connection (state: configured)")
    set_.add_argument("--tenant", required=True)
    set_.add_argument("--protocol", required=True, choices=PROTOCOLS)
    set_.add_argument("--idp-id", required=True, help="SAML entity ID or OIDC issuer")
    set_.add_argument("--metadata-url", help="SAML metadata or OIDC discovery URL")
    add_json(set_)
    verify = command(sso, "verify", _sso_verify, "mark the connection verified and active")
    verify.add_argument("--tenant", required=True)
    add_json(verify)
    show_sso = command(sso, "show", _sso_show, "show the SSO connection")
    show_sso.add_argument("--tenant", required=True)
    add_json(show_sso)

    scim = commands.add_parser("scim", help="SCIM for a tenant").add_subparsers(
        dest="scim_command", required=True
    )
    for name, run, help in (
        ("enable", _scim_enable, "enable SCIM for the tenant"),
        ("disable", _scim_disable, "disable SCIM for the tenant (its tokens are refused)"),
    ):
        p = command(scim, name, run, help)
        p.add_argument("--tenant", required=True)
        add_json(p)
