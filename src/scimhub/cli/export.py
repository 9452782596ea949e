"""`scimhub export`: a tenant's users or groups as JSON or CSV, the backup a customer
takes before migrating to SCIM. Streamed: keyset pages of the stores, each in its own
read transaction, written as they come; never the whole tenant in memory."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import IO, Any

from scimhub.cli.common import Handler, Subparsers, database, require_tenant, settings_of
from scimhub.db.engine import Database
from scimhub.resources.groups import GroupStore
from scimhub.resources.render import to_scim
from scimhub.resources.store import Page, Stored
from scimhub.resources.users import UserStore
from scimhub.scim.schema import GROUP, USER

PAGE_SIZE = 500
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

USER_COLUMNS = [
    "id",
    "userName",
    "externalId",
    "active",
    "displayName",
    "givenName",
    "familyName",
    "email",
    "emails",
    "title",
    "department",
    "employeeNumber",
    "manager",
    "created",
    "lastModified",
]
GROUP_COLUMNS = [
    "id",
    "displayName",
    "externalId",
    "memberCount",
    "members",
    "created",
    "lastModified",
]


def iter_stored(db: Database, tenant_id: str, resource: str) -> Iterator[Stored]:
    """Every user or group of the tenant in insertion order, PAGE_SIZE at a time (a
    group with its members)."""
    users, groups = UserStore(db.dialect), GroupStore(db.dialect)
    after: tuple[Any, ...] | None = None
    while True:
        page = Page(limit=PAGE_SIZE, after=after, count_total=False)
        with db.read() as conn:
            if resource == "users":
                found = users.search(conn, tenant_id, None, None, page)
            else:
                found = groups.search(conn, tenant_id, None, None, page, related=True)
        yield from found.items
        if not found.has_more or found.last_key is None:
            return
        after = found.last_key


def _primary_email(data: dict[str, Any]) -> str:
    emails = [e for e in data.get("emails") or [] if isinstance(e, dict)]
    chosen = next((e for e in emails if e.get("primary") is True), emails[0] if emails else {})
    value = chosen.get("value")
    return value if isinstance(value, str) else ""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def user_row(resource: dict[str, Any]) -> list[str]:
    name = resource.get("name") or {}
    enterprise = resource.get(ENTERPRISE) or {}
    manager = enterprise.get("manager") or {}
    emails = [
        e["value"]
        for e in resource.get("emails") or []
        if isinstance(e, dict) and isinstance(e.get("value"), str)
    ]
    meta = resource["meta"]
    return [
        _cell(v)
        for v in (
            resource["id"],
            resource.get("userName"),
            resource.get("externalId"),
            resource.get("active"),
            resource.get("displayName"),
            name.get("givenName") if isinstance(name, dict) else None,
            name.get("familyName") if isinstance(name, dict) else None,
            _primary_email(resource),
            " ".join(emails),
            resource.get("title"),
            enterprise.get("department") if isinstance(enterprise, dict) else None,
            enterprise.get("employeeNumber") if isinstance(enterprise, dict) else None,
            manager.get("value") if isinstance(manager, dict) else None,
            meta["created"],
            meta["lastModified"],
        )
    ]


def group_row(resource: dict[str, Any]) -> list[str]:
    members = [m["value"] for m in resource.get("members") or []]
    meta = resource["meta"]
    return [
        _cell(v)
        for v in (
            resource["id"],
            resource.get("displayName"),
            resource.get("externalId"),
            len(members),
            " ".join(members),
            meta["created"],
            meta["lastModified"],
        )
    ]


def write_export(
    out: IO[str], db: Database, tenant_id: str, resource: str, fmt: str, base_url: str
) -> int:
    """Writes the export to `out`; returns how many resources it holds."""
    rt = USER if resource == "users" else GROUP
    count = 0
    if fmt == "json":
        # A JSON array of SCIM resources, one per line.
        out.write("[")
        for stored in iter_stored(db, tenant_id, resource):
            out.write(",\n" if count else "\n")
            out.write(json.dumps(to_scim(rt, stored, base_url), ensure_ascii=False))
            count += 1
        out.write("\n]\n" if count else "]\n")
        return count
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(USER_COLUMNS if resource == "users" else GROUP_COLUMNS)
    row = user_row if resource == "users" else group_row
    for stored in iter_stored(db, tenant_id, resource):
        writer.writerow(row(to_scim(rt, stored, base_url)))
        count += 1
    return count


def _export(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    origin = args.base_url or settings.public_url or f"http://{settings.host}:{settings.port}"
    with database(args) as db:
        with db.read() as conn:
            tenant = require_tenant(conn, args.tenant)
        base_url = f"{origin.rstrip('/')}/scim/v2/{tenant.slug}"
        with ExitStack() as stack:
            out: IO[str] = sys.stdout
            if args.output:
                out = stack.enter_context(open(args.output, "w", encoding="utf-8", newline=""))
            count = write_export(out, db, tenant.id, args.resource, args.format, base_url)
    if args.output:
        print(f"exported {count} {args.resource} of tenant {tenant.slug} to {args.output}")


def register(
    commands: Subparsers,
    command: Callable[[Subparsers, str, Handler, str], argparse.ArgumentParser],
) -> None:
    export = command(commands, "export", _export, "export a tenant's users or groups")
    export.add_argument("--tenant", required=True)
    export.add_argument("--resource", required=True, choices=("users", "groups"))
    export.add_argument("--format", required=True, choices=("json", "csv"))
    export.add_argument("--output", metavar="FILE", help="default: standard output")
    export.add_argument(
        "--base-url", help="origin for meta.location (default: $SCIMHUB_PUBLIC_URL)"
    )
