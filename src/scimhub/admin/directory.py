"""Reading a tenant's users and groups for the admin API: the SCIM base URL, and which
provider (the SCIM URL's provider segment) created and last changed each resource."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Table

from scimhub.db.tables import groups, users
from scimhub.resources.sqlpaging import chunks
from scimhub.scim.schema import USER, ResourceType

Provenance = tuple[str | None, str | None]


def table_of(rt: ResourceType) -> Table:
    return users if rt is USER else groups


def provenance(
    conn: Connection, rt: ResourceType, tenant_id: str, ids: Sequence[str]
) -> dict[str, Provenance]:
    """id → (created_provider, updated_provider) for these resources of the tenant."""
    table = table_of(rt)
    found: dict[str, Provenance] = {}
    for chunk in chunks(list(ids)):
        rows = conn.execute(
            sa.select(table.c.id, table.c.created_provider, table.c.updated_provider).where(
                table.c.tenant_id == tenant_id, table.c.id.in_(chunk)
            )
        )
        for row in rows:
            found[row.id] = (row.created_provider, row.updated_provider)
    return found


def annotate(resource: dict[str, Any], found: Provenance | None) -> dict[str, Any]:
    """Adds `meta.createdProvider` / `meta.updatedProvider` (None: the bare tenant URL)."""
    meta = resource.get("meta")
    if isinstance(meta, dict) and found is not None:
        meta["createdProvider"], meta["updatedProvider"] = found
    return resource
