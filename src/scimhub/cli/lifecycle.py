"""`scimhub lifecycle …`: the retention purge and a tenant's lifecycle policy.

scimhub lifecycle purge                      # retained accounts past retention; prints the count
scimhub lifecycle show --tenant SLUG [--json]
scimhub lifecycle set --tenant SLUG [--delete-policy deprovision|purge] [--retention-days N]
                      [--linking link|refuse] [--default-role KEY|none] [--first-sync-done yes|no]
scimhub lifecycle domain add|remove --tenant SLUG DOMAIN"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from scimhub.cli.common import (
    CliError,
    Handler,
    Subparsers,
    add_json,
    database,
    print_fields,
    print_json,
    require_tenant,
    yes_no,
)
from scimhub.lifecycle import policies
from scimhub.lifecycle.retention import purge_expired


def _purge(args: argparse.Namespace) -> None:
    with database(args) as db, db.write() as conn:
        print(purge_expired(conn))


def _print(args: argparse.Namespace, shown: dict[str, Any]) -> None:
    if args.json:
        print_json(shown)
    else:
        print_fields(list(shown.items()))


def _show(args: argparse.Namespace) -> None:
    with database(args) as db, db.read() as conn:
        tenant = require_tenant(conn, args.tenant)
        _print(args, policies.describe(conn, tenant.id))


def _set(args: argparse.Namespace) -> None:
    given: dict[str, Any] = {}
    if args.delete_policy is not None:
        given["delete_policy"] = args.delete_policy
    if args.retention_days is not None:
        given["retention_days"] = args.retention_days
    if args.linking is not None:
        given["linking_policy"] = args.linking
    if args.default_role is not None:
        given["default_role_key"] = None if args.default_role == "none" else args.default_role
    if args.first_sync_done is not None:
        given["first_sync_done"] = yes_no(args.first_sync_done)
    if not given:
        raise CliError("nothing to change: give at least one option")
    with database(args) as db, db.write() as conn:
        tenant = require_tenant(conn, args.tenant)
        policies.update_policy(conn, tenant.id, **given)
        _print(args, policies.describe(conn, tenant.id))


def _domain(args: argparse.Namespace) -> None:
    with database(args) as db, db.write() as conn:
        tenant = require_tenant(conn, args.tenant)
        if args.action == "add":
            policies.add_domain(conn, tenant.id, args.domain)
        elif not policies.remove_domain(conn, tenant.id, args.domain):
            raise CliError(f"no verified domain {args.domain!r}")
        _print(args, policies.describe(conn, tenant.id))


def register(
    commands: Subparsers,
    command: Callable[[Subparsers, str, Handler, str], argparse.ArgumentParser],
) -> None:
    group = commands.add_parser(
        "lifecycle", help="deprovisioned accounts, lifecycle policies"
    ).add_subparsers(dest="lifecycle", required=True)
    command(group, "purge", _purge, "purge retained accounts past their tenant's retention")
    show = command(group, "show", _show, "a tenant's lifecycle policy")
    show.add_argument("--tenant", required=True)
    add_json(show)
    change = command(group, "set", _set, "change a tenant's lifecycle policy")
    change.add_argument("--tenant", required=True)
    change.add_argument("--delete-policy", choices=("deprovision", "purge"))
    change.add_argument("--retention-days", type=int)
    change.add_argument("--linking", choices=("link", "refuse"))
    change.add_argument("--default-role", metavar="KEY|none")
    change.add_argument("--first-sync-done", metavar="yes|no")
    add_json(change)
    domain = command(group, "domain", _domain, "add or remove a verified email domain")
    domain.add_argument("action", choices=("add", "remove"))
    domain.add_argument("--tenant", required=True)
    domain.add_argument("domain")
    add_json(domain)
