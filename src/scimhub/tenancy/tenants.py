"""Tenants: each has a slug (the URL segment `/scim/v2/<slug>/…`) and owns its users,
groups, tokens and SSO connection. A tenant is an organisation of the host app: active
or suspended, its plan includes SCIM or not, SCIM enabled or not (see gates.py)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from scimhub.db.prepared import Prepared
from scimhub.db.tables import tenants
from scimhub.tenancy.errors import InvalidInput, NotFound, TenantExists

__all__ = [
    "SLUG",
    "STATUSES",
    "Status",
    "Tenant",
    "TenantExists",
    "create_tenant",
    "get_tenant",
    "get_tenant_by_id",
    "list_tenants",
    "require_tenant",
    "update_tenant",
]

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

Status = Literal["active", "suspended"]
STATUSES: tuple[Status, ...] = get_args(Status)
MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    slug: str
    name: str
    status: Status = "active"
    plan_includes_scim: bool = True
    scim_enabled: bool = True
    created_at: datetime | None = None


_COLUMNS = (
    tenants.c.id,
    tenants.c.slug,
    tenants.c.name,
    tenants.c.status,
    tenants.c.plan_includes_scim,
    tenants.c.scim_enabled,
    tenants.c.created_at,
)


def tenant_from_row(row: Any) -> Tenant:
    """A Tenant from a row carrying the tenants columns (by their names)."""
    return Tenant(
        id=row.id,
        slug=row.slug,
        name=row.name,
        status=cast(Status, row.status),
        plan_includes_scim=bool(row.plan_includes_scim),
        scim_enabled=bool(row.scim_enabled),
        created_at=row.created_at,
    )


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or "\x00" in name:
        raise InvalidInput(f"a tenant name is 1-{MAX_NAME} characters", code="invalid_name")
    return name


def create_tenant(
    conn: Connection,
    slug: str,
    name: str | None = None,
    *,
    plan_includes_scim: bool = True,
    scim_enabled: bool = True,
) -> Tenant:
    """Raises InvalidInput (a ValueError) for a malformed slug or name, TenantExists for
    a taken slug."""
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        raise InvalidInput(
            f"invalid tenant slug {slug!r}: 1-63 lower-case letters, digits or '-', "
            "not starting with '-'",
            code="invalid_slug",
        )
    if get_tenant(conn, slug) is not None:
        raise TenantExists(f"tenant {slug!r} already exists")
    tenant = Tenant(
        id=str(uuid.uuid4()),
        slug=slug,
        name=_check_name(name) if name is not None else slug,
        status="active",
        plan_includes_scim=plan_includes_scim,
        scim_enabled=scim_enabled,
        created_at=datetime.now(UTC),
    )
    try:
        # A savepoint: a concurrent create of the same slug must not poison the
        # caller's transaction on PostgreSQL.
        with conn.begin_nested():
            conn.execute(
                insert(tenants).values(
                    id=tenant.id,
                    slug=slug,
                    name=tenant.name,
                    created_at=tenant.created_at,
                    status=tenant.status,
                    plan_includes_scim=plan_includes_scim,
                    scim_enabled=scim_enabled,
                )
            )
    except IntegrityError as exc:
        raise TenantExists(f"tenant {slug!r} already exists") from exc
    return tenant


# Every admin request looks its tenant up: compiled once, sent straight to the driver.
_BY_SLUG = Prepared(select(*_COLUMNS).where(tenants.c.slug == bindparam("slug")))


def get_tenant(conn: Connection, slug: str) -> Tenant | None:
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        return None  # no tenant has it (and PostgreSQL refuses a NUL in text)
    row = _BY_SLUG.first(conn, {"slug": slug})
    return tenant_from_row(row) if row else None


def get_tenant_by_id(conn: Connection, id: str) -> Tenant | None:
    if not isinstance(id, str) or not id or len(id) > 36 or "\x00" in id:
        return None
    row = conn.execute(select(*_COLUMNS).where(tenants.c.id == id)).first()
    return tenant_from_row(row) if row else None


def require_tenant(conn: Connection, slug: str) -> Tenant:
    """The tenant with this slug, or NotFound (code "tenant_not_found")."""
    tenant = get_tenant(conn, slug)
    if tenant is None:
        raise NotFound(f"no tenant {slug!r}", code="tenant_not_found")
    return tenant


def list_tenants(conn: Connection) -> list[Tenant]:
    return [tenant_from_row(r) for r in conn.execute(select(*_COLUMNS).order_by(tenants.c.slug))]


def update_tenant(
    conn: Connection,
    slug: str,
    *,
    name: str | None = None,
    status: str | None = None,
    plan_includes_scim: bool | None = None,
    scim_enabled: bool | None = None,
) -> Tenant:
    """Changes the given fields (None: unchanged). NotFound (code "tenant_not_found"),
    InvalidInput for a bad name or status."""
    tenant = require_tenant(conn, slug)
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _check_name(name)
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(
                f"status must be one of {', '.join(STATUSES)}, not {status!r}",
                code="invalid_status",
            )
        values["status"] = status
    if plan_includes_scim is not None:
        values["plan_includes_scim"] = bool(plan_includes_scim)
    if scim_enabled is not None:
        values["scim_enabled"] = bool(scim_enabled)
    if values:
        conn.execute(update(tenants).where(tenants.c.id == tenant.id).values(**values))
    found = get_tenant_by_id(conn, tenant.id)
    assert found is not None
    return found
