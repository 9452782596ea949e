"""The access check the host app calls on each request, and a user's effective roles.

Effective roles = the tenant's default role + the role of every group the user is in,
directly or through nested groups + the user's hand-made grants. Nothing is cached:
the answer is read from indexes on every call, so a deactivation, a membership change
or a revocation is visible on the very next call, on every instance.

Two statements, both compiled once and sent straight to the driver (db/prepared.py):
the user's row with its account state and the tenant's default role; then the role keys
through groups (a recursive walk up `memberships`) and hand grants, in one UNION."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from scimhub.db.prepared import Prepared
from scimhub.db.tables import account_states, lifecycle_policies, memberships, role_grants, roles
from scimhub.db.tables import users as users_table
from scimhub.lifecycle.roles import Grant

_USER = Prepared(
    sa.select(
        users_table.c.active,
        account_states.c.sessions_revoked_at,
        lifecycle_policies.c.default_role_key,
    )
    .select_from(users_table)
    .outerjoin(account_states, account_states.c.user_id == users_table.c.id)
    .outerjoin(lifecycle_policies, lifecycle_policies.c.tenant_id == users_table.c.tenant_id)
    .where(
        users_table.c.tenant_id == sa.bindparam("tenant_id"),
        users_table.c.id == sa.bindparam("user_id"),
    )
)


def _walk() -> Any:
    """The ids of every group `:user_id` is in, directly or indirectly (UNION ends the
    walk even on a cycle)."""
    tenant_id = sa.bindparam("tenant_id", type_=sa.String())
    m = memberships.alias("m")
    walk = (
        sa.select(memberships.c.group_id.label("group_id"), sa.literal(0).label("depth"))
        .where(
            memberships.c.tenant_id == tenant_id,
            memberships.c.member_id == sa.bindparam("user_id", type_=sa.String()),
        )
        .cte("up", recursive=True)
    )
    return walk.union(
        sa.select(m.c.group_id, sa.literal(1)).where(
            m.c.member_id == walk.c.group_id, m.c.tenant_id == tenant_id
        )
    )


def _roles_statement() -> Any:
    walk = _walk()
    through_groups = (
        sa.select(
            roles.c.key,
            sa.literal("group").label("source"),
            walk.c.group_id.label("via"),
            sa.func.min(walk.c.depth).label("depth"),
        )
        .join(walk, roles.c.group_id == walk.c.group_id)
        .group_by(roles.c.key, walk.c.group_id)
    )
    by_hand = (
        sa.select(
            roles.c.key,
            role_grants.c.source,
            sa.null().label("via"),
            sa.literal(0).label("depth"),
        )
        .join(roles, roles.c.id == role_grants.c.role_id)
        .where(role_grants.c.user_id == sa.bindparam("user_id", type_=sa.String()))
    )
    return sa.union_all(through_groups, by_hand)


_ROLES = Prepared(_roles_statement())


@dataclass(frozen=True, slots=True)
class Access:
    active: bool
    roles: list[str]
    # Sessions issued before this instant are invalid (None: never revoked).
    sessions_revoked_at: datetime | None
    grants: list[Grant] = field(default_factory=list)


def grants_of(
    conn: Connection, tenant_id: str, user_id: str, default_role: str | None
) -> list[Grant]:
    """Every grant the user holds, with where it comes from (one row per path)."""
    found: list[Grant] = []
    if default_role:
        found.append(Grant(default_role, "default"))
    for row in _ROLES.all(conn, {"tenant_id": tenant_id, "user_id": user_id}):
        found.append(Grant(row.key, row.source, row.via))
    return found


def check_access(conn: Connection, tenant_id: str, user_id: str) -> Access | None:
    """None for an unknown user, or one deleted (deprovisioned or purged)."""
    row = _USER.first(conn, {"tenant_id": tenant_id, "user_id": user_id})
    if row is None:
        return None
    grants = grants_of(conn, tenant_id, user_id, row.default_role_key)
    # SCIM `active` absent means active (RFC 7643 §4.1.1 gives no default; an IdP that
    # never sends it does not mean to lock everyone out).
    active = row.active is not False
    return Access(active, sorted({g.role_key for g in grants}), row.sessions_revoked_at, grants)
