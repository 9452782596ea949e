"""Exports of a tenant's users and groups (the backup a customer takes before moving to
SCIM), as JSON and CSV, streamed page by page with keyset paging: a page is read in its
own short transaction, rendered, written out and dropped, so a tenant of any size
exports in constant memory and holds no transaction open while the client reads.

JSON: `{"tenant", "resource_type", "exported_at", "resources": [...]}`, each resource
its full SCIM representation (users without `groups`, which the group export carries;
groups with `members`), plus `meta.createdProvider` / `meta.updatedProvider`.

CSV (RFC 4180, UTF-8, header row; see USER_COLUMNS and GROUP_COLUMNS): booleans as
`true`/`false`, absent values empty, times as in SCIM `meta`. A cell that a spreadsheet
would run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) is
prefixed with `'` (OWASP's CSV injection advice); the JSON export is verbatim."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from scimhub.admin.directory import annotate, provenance
from scimhub.db.engine import Database
from scimhub.resources.groups import GroupStore
from scimhub.resources.render import timestamp, to_scim
from scimhub.resources.store import Page, SearchResult
from scimhub.resources.users import UserStore
from scimhub.scim.schema import GROUP, USER, ResourceType
from scimhub.tenancy.tenants import Tenant

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# Rows per page: users are small; a group page also carries every member id.
USER_PAGE = 500
GROUP_PAGE = 100

USER_COLUMNS = (
    "id",
    "userName",
    "externalId",
    "active",
    "displayName",
    "givenName",
    "familyName",
    "primaryEmail",
    "title",
    "department",
    "employeeNumber",
    "managerId",
    "created",
    "lastModified",
    "createdProvider",
    "updatedProvider",
)
GROUP_COLUMNS = (
    "id",
    "displayName",
    "externalId",
    "memberCount",
    "memberIds",  # space-separated ids of the direct members (users and groups)
    "created",
    "lastModified",
    "createdProvider",
    "updatedProvider",
)


def pages(
    db: Database, tenant: Tenant, rt: ResourceType, base_url: str
) -> Iterator[list[dict[str, Any]]]:
    """The tenant's resources of this type in insertion order, a page at a time (keyset
    paging on the surrogate key: exact while others write)."""
    size = USER_PAGE if rt is USER else GROUP_PAGE
    after: tuple[Any, ...] | None = None
    while True:
        page = Page(limit=size, after=after, count_total=False)
        with db.read() as conn:
            found: SearchResult
            if rt is USER:
                found = UserStore(db.dialect).search(conn, tenant.id, None, None, page)
            else:
                found = GroupStore(db.dialect).search(
                    conn, tenant.id, None, None, page, related=True
                )
            origins = provenance(conn, rt, tenant.id, [s.id for s in found.items])
        yield [annotate(to_scim(rt, s, base_url), origins.get(s.id)) for s in found.items]
        if not found.has_more or found.last_key is None:
            return
        after = found.last_key


def json_export(db: Database, tenant: Tenant, rt: ResourceType, base_url: str) -> Iterator[bytes]:
    head = {
        "tenant": tenant.slug,
        "resource_type": rt.name,
        "exported_at": timestamp(datetime.now(UTC)),
    }
    opening = json.dumps(head, ensure_ascii=False)[:-1] + ', "resources": ['
    yield opening.encode("utf-8", "backslashreplace")
    first = True
    for page in pages(db, tenant, rt, base_url):
        if not page:
            continue
        chunk = ",\n".join(json.dumps(r, ensure_ascii=False) for r in page)
        # A lone surrogate (which SCIM JSON can carry) as its JSON escape, `\udXXX`.
        yield (("\n" if first else ",\n") + chunk).encode("utf-8", "backslashreplace")
        first = False
    yield b"\n]}\n"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _primary_email(user: dict[str, Any]) -> Any:
    emails = [e for e in user.get("emails") or [] if isinstance(e, dict)]
    primary = next((e for e in emails if e.get("primary") is True), None)
    chosen = primary or (emails[0] if emails else None)
    return chosen.get("value") if chosen else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def user_row(user: dict[str, Any]) -> list[str]:
    name = _object(user.get("name"))
    enterprise = _object(user.get(ENTERPRISE))
    manager = _object(enterprise.get("manager"))
    meta = _object(user.get("meta"))
    values = (
        user.get("id"),
        user.get("userName"),
        user.get("externalId"),
        user.get("active"),
        user.get("displayName"),
        name.get("givenName"),
        name.get("familyName"),
        _primary_email(user),
        user.get("title"),
        enterprise.get("department"),
        enterprise.get("employeeNumber"),
        manager.get("value"),
        meta.get("created"),
        meta.get("lastModified"),
        meta.get("createdProvider"),
        meta.get("updatedProvider"),
    )
    return [_cell(v) for v in values]


def group_row(group: dict[str, Any]) -> list[str]:
    members = [m.get("value") for m in group.get("members") or [] if isinstance(m, dict)]
    meta = _object(group.get("meta"))
    values = (
        group.get("id"),
        group.get("displayName"),
        group.get("externalId"),
        len(members),
        " ".join(str(m) for m in members if m),
        meta.get("created"),
        meta.get("lastModified"),
        meta.get("createdProvider"),
        meta.get("updatedProvider"),
    )
    return [_cell(v) for v in values]


def csv_export(db: Database, tenant: Tenant, rt: ResourceType, base_url: str) -> Iterator[bytes]:
    columns, row = (USER_COLUMNS, user_row) if rt is USER else (GROUP_COLUMNS, group_row)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for page in pages(db, tenant, rt, base_url):
        for resource in page:
            writer.writerow(row(resource))
        yield buffer.getvalue().encode("utf-8", "replace")
        buffer.seek(0)
        buffer.truncate()
    rest = buffer.getvalue()
    if rest:
        yield rest.encode("utf-8", "replace")


__all__ = ["GROUP", "GROUP_COLUMNS", "USER", "USER_COLUMNS", "csv_export", "json_export"]
