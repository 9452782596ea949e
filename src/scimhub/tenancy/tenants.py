"""Tenants: each has a slug (the URL segment `/scim/v2/<slug>/…`) and owns its users,
groups and tokens. Minimal for now; administration grows here."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from scimhub.db.tables import tenants

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class TenantExists(Exception):
    """A tenant with this slug exists already."""


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    slug: str
    name: str


def create_tenant(conn: Connection, slug: str, name: str | None = None) -> Tenant:
    """Raises ValueError for a malformed slug, TenantExists for a taken one."""
    if not SLUG.fullmatch(slug):
        raise ValueError(
            f"invalid tenant slug {slug!r}: 1-63 lower-case letters, digits or '-', "
            "not starting with '-'"
        )
    if get_tenant(conn, slug) is not None:
        raise TenantExists(slug)
    tenant = Tenant(str(uuid.uuid4()), slug, name or slug)
    try:
        conn.execute(
            insert(tenants).values(
                id=tenant.id, slug=slug, name=tenant.name, created_at=datetime.now(UTC)
            )
        )
    except IntegrityError as exc:  # a concurrent create of the same slug
        raise TenantExists(slug) from exc
    return tenant


def get_tenant(conn: Connection, slug: str) -> Tenant | None:
    if not SLUG.fullmatch(slug):
        return None  # no tenant has it (and PostgreSQL refuses a NUL in text)
    row = conn.execute(
        select(tenants.c.id, tenants.c.slug, tenants.c.name).where(tenants.c.slug == slug)
    ).first()
    return Tenant(row.id, row.slug, row.name) if row else None


def list_tenants(conn: Connection) -> list[Tenant]:
    rows = conn.execute(
        select(tenants.c.id, tenants.c.slug, tenants.c.name).order_by(tenants.c.slug)
    )
    return [Tenant(r.id, r.slug, r.name) for r in rows]
