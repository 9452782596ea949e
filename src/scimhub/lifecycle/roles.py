"""The app's roles and teams, SCIM groups mapped onto them, and hand-made grants.

- A SCIM group maps to one role (`roles.group_id`). On group create an existing
  unmapped role is adopted by `externalId`, then by normalized name ("Sales Team" and
  "salesteam" both normalize to `salesteam`); otherwise a role is created (source
  "scim") with the normalized name as key.
- Privileged roles (`owner`, `admin`) are never granted through SCIM: a group whose name
  normalizes to a privileged key gets its own non-privileged role, keyed `scim-<key>`,
  rather than being refused (refusing would fail the IdP's push of a group it is
  perfectly entitled to have, e.g. its own "Admin" team).
- Renaming a group renames its role (the key stays: the app's code and stored
  grants refer to it); deleting a group unmaps its role, so the grants that came
  through the group end with its memberships.

`RoleGrantChange` is what a grant change looks like to the event outbox (events/roles.py):
see `LifecycleHooks.grant_listeners`."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Connection

from scimhub.db.tables import role_grants, roles
from scimhub.tenancy.errors import Conflict, InvalidInput, NotFound

PRIVILEGED_KEYS = frozenset({"owner", "admin"})
GrantSource = Literal["default", "group", "manual", "merged"]


def normalize_key(name: str) -> str:
    """Lower case, letters and digits only: "Sales Team" → "salesteam"."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    key: str
    name: str
    external_id: str | None
    source: str  # "app" | "scim"
    privileged: bool
    group_id: str | None


@dataclass(frozen=True, slots=True)
class RoleGrantChange:
    """One grant that appeared or ended. `subject_type` "User" is a user; "Group" means
    every member of that group (directly or through nested groups) gained or lost the
    role through `via_group`."""

    tenant_id: str
    op: Literal["granted", "revoked"]
    role_key: str
    subject_id: str
    subject_type: Literal["User", "Group"]
    source: GrantSource
    via_group: str | None = None


_COLUMNS = (
    roles.c.id,
    roles.c.key,
    roles.c.name,
    roles.c.external_id,
    roles.c.source,
    roles.c.privileged,
    roles.c.group_id,
)


def _role(row: Any) -> Role:
    return Role(
        row.id, row.key, row.name, row.external_id, row.source, row.privileged, row.group_id
    )


def list_roles(conn: Connection, tenant_id: str) -> list[Role]:
    rows = conn.execute(
        sa.select(*_COLUMNS).where(roles.c.tenant_id == tenant_id).order_by(roles.c.key)
    )
    return [_role(r) for r in rows]


def get_role(conn: Connection, tenant_id: str, key: str) -> Role | None:
    row = conn.execute(
        sa.select(*_COLUMNS).where(roles.c.tenant_id == tenant_id, roles.c.key == key)
    ).first()
    return _role(row) if row else None


def _insert(
    conn: Connection,
    tenant_id: str,
    key: str,
    name: str,
    *,
    source: str,
    privileged: bool = False,
    external_id: str | None = None,
    group_id: str | None = None,
) -> Role:
    id = str(uuid.uuid4())
    conn.execute(
        sa.insert(roles).values(
            id=id,
            tenant_id=tenant_id,
            key=key,
            name=name,
            external_id=external_id,
            source=source,
            privileged=privileged,
            group_id=group_id,
            created_at=datetime.now(UTC),
        )
    )
    return Role(id, key, name, external_id, source, privileged, group_id)


def create_app_role(
    conn: Connection, tenant_id: str, key: str, name: str, *, external_id: str | None = None
) -> Role:
    """A role the app defines. `owner` and `admin` are privileged: only hand grants."""
    key = key.strip().lower()
    if not _KEY.match(key):
        raise InvalidInput(
            "a role key is 1-63 lower-case letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )
    if get_role(conn, tenant_id, key) is not None:
        raise Conflict(f"role {key!r} exists already", code="role_exists")
    return _insert(
        conn,
        tenant_id,
        key,
        name.strip() or key,
        source="app",
        privileged=key in PRIVILEGED_KEYS,
        external_id=external_id,
    )


# -- groups as roles ----------------------------------------------------------------------

_BY_EXTERNAL_ID = sa.select(*_COLUMNS).where(
    roles.c.tenant_id == sa.bindparam("tenant_id"),
    roles.c.external_id == sa.bindparam("external_id"),
    roles.c.group_id.is_(None),
    roles.c.privileged.is_(False),
)
_BY_KEY = sa.select(*_COLUMNS).where(
    roles.c.tenant_id == sa.bindparam("tenant_id"), roles.c.key == sa.bindparam("key")
)
_BY_GROUP = sa.select(*_COLUMNS).where(roles.c.group_id == sa.bindparam("group_id"))


def role_of_group(conn: Connection, group_id: str) -> Role | None:
    row = conn.execute(_BY_GROUP, {"group_id": group_id}).first()
    return _role(row) if row else None


def adopt_for_group(
    conn: Connection, tenant_id: str, group_id: str, display_name: str, external_id: str | None
) -> tuple[Role, str]:
    """The role a new SCIM group maps to, and how it was found: "externalId", "name"
    (an existing role adopted) or "created"."""
    if external_id:
        row = conn.execute(
            _BY_EXTERNAL_ID, {"tenant_id": tenant_id, "external_id": external_id}
        ).first()
        if row is not None:
            conn.execute(sa.update(roles).where(roles.c.id == row.id).values(group_id=group_id))
            return replace(_role(row), group_id=group_id), "externalId"
    key = normalize_key(display_name) or "group"
    if key in PRIVILEGED_KEYS:
        key = f"scim-{key}"
    row = conn.execute(_BY_KEY, {"tenant_id": tenant_id, "key": key}).first()
    if row is not None and row.group_id is None and not row.privileged:
        values: dict[str, object] = {"group_id": group_id}
        if row.external_id is None and external_id:
            values["external_id"] = external_id
        conn.execute(sa.update(roles).where(roles.c.id == row.id).values(**values))
        return replace(_role(row), group_id=group_id), "name"
    if row is not None:
        # Taken by a role mapped to another group: a distinct key for this one.
        base, n = key, 2
        while get_role(conn, tenant_id, key) is not None:
            key, n = f"{base}-{n}", n + 1
    role = _insert(
        conn,
        tenant_id,
        key,
        display_name,
        source="scim",
        external_id=external_id,
        group_id=group_id,
    )
    return role, "created"


def rename_for_group(conn: Connection, group_id: str, display_name: str) -> None:
    conn.execute(sa.update(roles).where(roles.c.group_id == group_id).values(name=display_name))


def unmap_group(conn: Connection, group_id: str) -> Role | None:
    """The group is gone: its role stays (the app may hold references) but maps nothing."""
    role = role_of_group(conn, group_id)
    if role is not None:
        conn.execute(sa.update(roles).where(roles.c.id == role.id).values(group_id=None))
    return role


# -- hand-made grants ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Grant:
    role_key: str
    source: GrantSource
    via_group: str | None = None


def grant(
    conn: Connection, tenant_id: str, user_id: str, key: str, *, by: str | None
) -> RoleGrantChange | None:
    """A hand-made grant (None when the user holds it by hand already)."""
    role = get_role(conn, tenant_id, key)
    if role is None:
        raise NotFound(f"no role {key!r} in this tenant", code="role_not_found")
    exists = conn.execute(
        sa.select(role_grants.c.source).where(
            role_grants.c.user_id == user_id, role_grants.c.role_id == role.id
        )
    ).first()
    if exists is not None:
        return None
    conn.execute(
        sa.insert(role_grants).values(
            tenant_id=tenant_id,
            user_id=user_id,
            role_id=role.id,
            source="manual",
            granted_at=datetime.now(UTC),
            granted_by=by,
        )
    )
    return RoleGrantChange(tenant_id, "granted", key, user_id, "User", "manual")


def revoke(conn: Connection, tenant_id: str, user_id: str, key: str) -> RoleGrantChange | None:
    role = get_role(conn, tenant_id, key)
    if role is None:
        raise NotFound(f"no role {key!r} in this tenant", code="role_not_found")
    row = conn.execute(
        sa.delete(role_grants)
        .where(role_grants.c.user_id == user_id, role_grants.c.role_id == role.id)
        .returning(role_grants.c.source)
    ).first()
    if row is None:
        return None
    return RoleGrantChange(tenant_id, "revoked", key, user_id, "User", row.source)


_HAND_GRANTS = (
    sa.select(role_grants.c.role_id, role_grants.c.source, roles.c.key, roles.c.privileged)
    .join(roles, roles.c.id == role_grants.c.role_id)
    .where(role_grants.c.user_id == sa.bindparam("user_id"))
)


def sync_hand_grants(
    conn: Connection, tenant_id: str, user_id: str, *, first_sync: Callable[[], bool]
) -> list[RoleGrantChange]:
    """The IdP synced this user: it is master over hand-made grants. During the tenant's
    first sync they are merged (kept, marked "merged", so a migration to SCIM loses
    nobody's access); after it, "manual" grants end. Privileged grants (owner, admin)
    are the app's alone: SCIM neither grants nor revokes them. One indexed read when
    the user has no hand grants (the common case): `first_sync` (a policy read) is
    called only when there is a hand grant to decide about."""
    rows = conn.execute(_HAND_GRANTS, {"user_id": user_id}).all()
    changes: list[RoleGrantChange] = []
    merging: bool | None = None
    for row in rows:
        if row.privileged or row.source != "manual":
            continue
        if merging is None:
            merging = first_sync()
        where = sa.and_(role_grants.c.user_id == user_id, role_grants.c.role_id == row.role_id)
        if merging:
            conn.execute(sa.update(role_grants).where(where).values(source="merged"))
        else:
            conn.execute(sa.delete(role_grants).where(where))
            changes.append(
                RoleGrantChange(tenant_id, "revoked", row.key, user_id, "User", "manual")
            )
    return changes


def delete_hand_grants(conn: Connection, user_id: str) -> None:
    conn.execute(sa.delete(role_grants).where(role_grants.c.user_id == user_id))
