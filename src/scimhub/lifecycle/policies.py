"""A tenant's lifecycle policy and its verified email domains.

A tenant without a `lifecycle_policies` row has the defaults (`Policy()`): SCIM DELETE
deprovisions, retention 30 days, matching accounts are linked, no default role, first
sync not done."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Connection

from scimhub.db.tables import lifecycle_policies, verified_domains
from scimhub.lifecycle.roles import get_role
from scimhub.tenancy.errors import InvalidInput

DeletePolicy = Literal["deprovision", "purge"]
LinkingPolicy = Literal["link", "refuse"]

DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650

# RFC 1035 labels, at least two of them; folded to lower case before the check.
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True, slots=True)
class Policy:
    delete_policy: DeletePolicy = "deprovision"
    retention_days: int = DEFAULT_RETENTION_DAYS
    linking_policy: LinkingPolicy = "link"
    default_role_key: str | None = None
    first_sync_done: bool = False
    updated_at: datetime | None = None


_GET = sa.select(
    lifecycle_policies.c.delete_policy,
    lifecycle_policies.c.retention_days,
    lifecycle_policies.c.linking_policy,
    lifecycle_policies.c.default_role_key,
    lifecycle_policies.c.first_sync_done,
    lifecycle_policies.c.updated_at,
).where(lifecycle_policies.c.tenant_id == sa.bindparam("tenant_id"))


def get_policy(conn: Connection, tenant_id: str) -> Policy:
    row = conn.execute(_GET, {"tenant_id": tenant_id}).first()
    if row is None:
        return Policy()
    return Policy(
        row.delete_policy,
        row.retention_days,
        row.linking_policy,
        row.default_role_key,
        row.first_sync_done,
        row.updated_at,
    )


_UNSET: object = object()


def update_policy(
    conn: Connection,
    tenant_id: str,
    *,
    delete_policy: DeletePolicy | None = None,
    retention_days: int | None = None,
    linking_policy: LinkingPolicy | None = None,
    default_role_key: str | object | None = _UNSET,
    first_sync_done: bool | None = None,
) -> Policy:
    """Changes the given fields; `default_role_key=None` clears the default role."""
    current = get_policy(conn, tenant_id)
    changes: dict[str, object] = {}
    if delete_policy is not None:
        if delete_policy not in ("deprovision", "purge"):
            raise InvalidInput("delete_policy must be 'deprovision' or 'purge'")
        changes["delete_policy"] = delete_policy
    if retention_days is not None:
        if not 0 <= retention_days <= MAX_RETENTION_DAYS:
            raise InvalidInput(f"retention_days must be between 0 and {MAX_RETENTION_DAYS}")
        changes["retention_days"] = retention_days
    if linking_policy is not None:
        if linking_policy not in ("link", "refuse"):
            raise InvalidInput("linking_policy must be 'link' or 'refuse'")
        changes["linking_policy"] = linking_policy
    if default_role_key is not _UNSET:
        if default_role_key is not None:
            assert isinstance(default_role_key, str)
            role = get_role(conn, tenant_id, default_role_key)
            if role is None:
                raise InvalidInput(f"no role {default_role_key!r} in this tenant")
            if role.privileged:
                # Every account would hold it, SCIM-provisioned ones included.
                raise InvalidInput("a privileged role (owner, admin) cannot be the default role")
        changes["default_role_key"] = default_role_key
    if first_sync_done is not None:
        changes["first_sync_done"] = first_sync_done
    now = datetime.now(UTC)
    merged = replace(current, **changes, updated_at=now)  # type: ignore[arg-type]
    values = {
        "delete_policy": merged.delete_policy,
        "retention_days": merged.retention_days,
        "linking_policy": merged.linking_policy,
        "default_role_key": merged.default_role_key,
        "first_sync_done": merged.first_sync_done,
        "updated_at": now,
    }
    updated = conn.execute(
        sa.update(lifecycle_policies)
        .where(lifecycle_policies.c.tenant_id == tenant_id)
        .values(**values)
    ).rowcount
    if not updated:
        conn.execute(sa.insert(lifecycle_policies).values(tenant_id=tenant_id, **values))
    return merged


# -- verified domains ---------------------------------------------------------------------


def normalize_domain(domain: str) -> str:
    folded = domain.strip().lower().rstrip(".")
    if not _DOMAIN.match(folded):
        raise InvalidInput(f"{domain!r} is not a domain name (e.g. example.com)")
    return folded


def list_domains(conn: Connection, tenant_id: str) -> list[str]:
    rows = conn.execute(
        sa.select(verified_domains.c.domain)
        .where(verified_domains.c.tenant_id == tenant_id)
        .order_by(verified_domains.c.domain)
    )
    return list(rows.scalars())


def add_domain(conn: Connection, tenant_id: str, domain: str) -> str:
    """Records a domain the host app verified (DNS record, email challenge…): emails in
    it may link accounts. Idempotent."""
    folded = normalize_domain(domain)
    if folded not in list_domains(conn, tenant_id):
        conn.execute(
            sa.insert(verified_domains).values(
                tenant_id=tenant_id, domain=folded, created_at=datetime.now(UTC)
            )
        )
    return folded


def remove_domain(conn: Connection, tenant_id: str, domain: str) -> bool:
    folded = domain.strip().lower().rstrip(".")
    deleted = conn.execute(
        sa.delete(verified_domains).where(
            verified_domains.c.tenant_id == tenant_id, verified_domains.c.domain == folded
        )
    ).rowcount
    return bool(deleted)


def describe(conn: Connection, tenant_id: str) -> dict[str, Any]:
    """The policy and the verified domains, as the admin API and the CLI show them."""
    policy = get_policy(conn, tenant_id)
    return {
        "delete_policy": policy.delete_policy,
        "retention_days": policy.retention_days,
        "linking_policy": policy.linking_policy,
        "default_role_key": policy.default_role_key,
        "first_sync_done": policy.first_sync_done,
        "verified_domains": list_domains(conn, tenant_id),
    }
