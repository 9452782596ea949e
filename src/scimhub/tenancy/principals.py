"""Admin principals and their API keys.

A principal acts on one tenant with a role (owner, admin, security-admin, member), or
on every tenant as a deployment operator. Owners, admins and security admins may
enable SCIM, change SSO state and manage tokens; members may read. Keys are
`scimhub_admin_` + 43 URL-safe characters (256 random bits), shown once and stored like
SCIM tokens: SHA-512 digest, prefix and last 4."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from sqlalchemy import Connection, Row, Select, bindparam, insert, select, update

from scimhub.db.prepared import Prepared
from scimhub.db.tables import admin_keys, admin_principals, tenants
from scimhub.tenancy.errors import InvalidInput, NotFound
from scimhub.tenancy.tokens import digest, new_secret

Role = Literal["owner", "admin", "security-admin", "member", "operator"]
ROLES: tuple[Role, ...] = get_args(Role)
TENANT_ROLES: tuple[Role, ...] = ("owner", "admin", "security-admin", "member")
MANAGING_ROLES: frozenset[str] = frozenset({"owner", "admin", "security-admin"})
ADMIN_KEY_PREFIX = "scimhub_admin_"
# Characters kept to recognise a key: "scimhub_admin_" and 4 random ones.
ADMIN_KEY_PREFIX_LENGTH = len(ADMIN_KEY_PREFIX) + 4


@dataclass(frozen=True, slots=True)
class Principal:
    id: str
    tenant_id: str | None
    role: Role
    name: str | None
    # The key that authenticated this principal (None when not from a key).
    key_id: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"


@dataclass(frozen=True, slots=True)
class AdminKeyInfo:
    id: str
    principal_id: str
    prefix: str
    last4: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class AdminKeyEntry:
    """An admin key with its principal, as listings show it: never the key or its hash."""

    id: str
    principal_id: str
    tenant_id: str | None
    role: Role
    name: str | None
    prefix: str
    last4: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def create_admin_key(
    conn: Connection,
    *,
    tenant_id: str | None,
    role: str,
    name: str | None = None,
    created_by: str | None = None,
) -> tuple[str, Principal]:
    """A new principal with one API key; returns the key's plaintext (shown once).
    `tenant_id` None only with role "operator", and an operator has no tenant.
    InvalidInput for a bad role or combination, NotFound for an unknown tenant."""
    if role not in ROLES:
        raise InvalidInput(
            f"role must be one of {', '.join(ROLES)}, not {role!r}", code="invalid_role"
        )
    if (role == "operator") != (tenant_id is None):
        raise InvalidInput(
            "an operator has no tenant; every other role belongs to one tenant",
            code="invalid_role",
        )
    if tenant_id is not None and (
        conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id)).first() is None
    ):
        raise NotFound(f"no tenant with id {tenant_id!r}", code="tenant_not_found")
    now = datetime.now(UTC)
    principal = Principal(str(uuid.uuid4()), tenant_id, role, name)
    conn.execute(
        insert(admin_principals).values(
            id=principal.id,
            tenant_id=tenant_id,
            role=role,
            name=name,
            created_at=now,
            created_by=created_by,
        )
    )
    key, key_id = _insert_key(conn, principal.id, now)
    return key, Principal(principal.id, tenant_id, principal.role, name, key_id)


def add_admin_key(conn: Connection, principal_id: str) -> tuple[str, AdminKeyInfo]:
    """Another key for an existing principal (to rotate keys). NotFound."""
    found = conn.execute(
        select(admin_principals.c.id).where(admin_principals.c.id == principal_id)
    ).first()
    if found is None:
        raise NotFound(f"no principal {principal_id!r}", code="principal_not_found")
    now = datetime.now(UTC)
    key, key_id = _insert_key(conn, principal_id, now)
    return key, AdminKeyInfo(
        key_id, principal_id, key[:ADMIN_KEY_PREFIX_LENGTH], key[-4:], now, None, None
    )


def _insert_key(conn: Connection, principal_id: str, now: datetime) -> tuple[str, str]:
    key = new_secret(ADMIN_KEY_PREFIX)
    key_id = str(uuid.uuid4())
    conn.execute(
        insert(admin_keys).values(
            id=key_id,
            principal_id=principal_id,
            prefix=key[:ADMIN_KEY_PREFIX_LENGTH],
            last4=key[-4:],
            hash=digest(key),
            created_at=now,
        )
    )
    return key, key_id


# Every admin request runs it: compiled once, sent straight to the driver.
_ADMIN_KEY = Prepared(
    select(
        admin_keys.c.id.label("key_id"),
        admin_keys.c.hash,
        admin_principals.c.id,
        admin_principals.c.tenant_id,
        admin_principals.c.role,
        admin_principals.c.name,
    )
    .select_from(
        admin_keys.join(admin_principals, admin_principals.c.id == admin_keys.c.principal_id)
    )
    .where(admin_keys.c.hash == bindparam("digest"), admin_keys.c.revoked_at.is_(None))
)


def authenticate_admin(conn: Connection, presented: str) -> Principal | None:
    """The principal whose live (unrevoked) key `presented` is, else None: one indexed
    lookup by digest, then a constant-time comparison. Read-only: record use with
    `record_admin_key_use`."""
    if not isinstance(presented, str) or not presented.startswith(ADMIN_KEY_PREFIX):
        return None
    presented_digest = digest(presented)
    row = _ADMIN_KEY.first(conn, {"digest": presented_digest})
    if row is None or not hmac.compare_digest(row.hash, presented_digest):
        return None
    return Principal(row.id, row.tenant_id, cast(Role, row.role), row.name, row.key_id)


def record_admin_key_use(conn: Connection, key_id: str) -> None:
    conn.execute(
        update(admin_keys).where(admin_keys.c.id == key_id).values(last_used_at=datetime.now(UTC))
    )


def revoke_admin_key(conn: Connection, key_id: str) -> AdminKeyEntry:
    """Revokes the key now (idempotent: a revoked key keeps its first `revoked_at`);
    returns it as it is now. NotFound."""
    if get_admin_key(conn, key_id) is None:
        raise NotFound(f"no admin key {key_id!r}", code="admin_key_not_found")
    conn.execute(
        update(admin_keys)
        .where(admin_keys.c.id == key_id, admin_keys.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    entry = get_admin_key(conn, key_id)
    assert entry is not None
    return entry


def _entries() -> Select[Any]:
    return select(
        admin_keys.c.id,
        admin_keys.c.principal_id,
        admin_principals.c.tenant_id,
        admin_principals.c.role,
        admin_principals.c.name,
        admin_keys.c.prefix,
        admin_keys.c.last4,
        admin_keys.c.created_at,
        admin_keys.c.last_used_at,
        admin_keys.c.revoked_at,
    ).select_from(
        admin_keys.join(admin_principals, admin_principals.c.id == admin_keys.c.principal_id)
    )


def _entry(row: Row[Any]) -> AdminKeyEntry:
    return AdminKeyEntry(
        row.id,
        row.principal_id,
        row.tenant_id,
        cast(Role, row.role),
        row.name,
        row.prefix,
        row.last4,
        row.created_at,
        row.last_used_at,
        row.revoked_at,
    )


def get_admin_key(conn: Connection, key_id: str) -> AdminKeyEntry | None:
    """The key with this id and its principal, or None (also for a malformed id)."""
    if not isinstance(key_id, str) or len(key_id) > 36 or "\x00" in key_id:
        return None
    row = conn.execute(_entries().where(admin_keys.c.id == key_id)).first()
    return None if row is None else _entry(row)


def list_tenant_admin_keys(conn: Connection, tenant_id: str | None) -> list[AdminKeyEntry]:
    """Every key (revoked ones too) of the tenant's principals, oldest first; with
    `tenant_id` None, the operators' keys."""
    whose = (
        admin_principals.c.tenant_id.is_(None)
        if tenant_id is None
        else admin_principals.c.tenant_id == tenant_id
    )
    rows = conn.execute(_entries().where(whose).order_by(admin_keys.c.created_at, admin_keys.c.id))
    return [_entry(r) for r in rows]


def list_admin_keys(conn: Connection, principal_id: str) -> list[AdminKeyInfo]:
    rows = conn.execute(
        select(admin_keys)
        .where(admin_keys.c.principal_id == principal_id)
        .order_by(admin_keys.c.created_at, admin_keys.c.id)
    )
    return [
        AdminKeyInfo(
            r.id, r.principal_id, r.prefix, r.last4, r.created_at, r.revoked_at, r.last_used_at
        )
        for r in rows
    ]


# -- permissions ---------------------------------------------------------------------------


def can_read(principal: Principal, tenant_id: str) -> bool:
    """Operators read every tenant; any role reads its own tenant."""
    return principal.is_operator or (
        principal.tenant_id is not None and principal.tenant_id == tenant_id
    )


def can_manage(principal: Principal, tenant_id: str) -> bool:
    """Enable SCIM, change SSO state, manage tokens: operators, and the tenant's owners,
    admins and security admins (not members)."""
    return principal.is_operator or (
        principal.tenant_id is not None
        and principal.tenant_id == tenant_id
        and principal.role in MANAGING_ROLES
    )
