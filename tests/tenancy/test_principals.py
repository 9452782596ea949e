"""Admin principals, their keys and permissions, on both backends."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from scimhub.db.engine import Database
from scimhub.db.tables import admin_keys
from scimhub.tenancy.errors import InvalidInput, NotFound
from scimhub.tenancy.principals import (
    ADMIN_KEY_PREFIX,
    Principal,
    add_admin_key,
    authenticate_admin,
    can_manage,
    can_read,
    create_admin_key,
    list_admin_keys,
    record_admin_key_use,
    revoke_admin_key,
)
from scimhub.tenancy.tenants import Tenant
from scimhub.tenancy.tokens import authenticate, create_token

KEY = re.compile(r"^scimhub_admin_[A-Za-z0-9_-]{43}$")


@pytest.mark.parametrize("role", ["owner", "admin", "security-admin", "member"])
def test_a_tenant_key_authenticates_its_principal(db: Database, tenant: Tenant, role: str) -> None:
    with db.write() as conn:
        key, principal = create_admin_key(conn, tenant_id=tenant.id, role=role, name="ops")
    assert KEY.match(key) and key.startswith(ADMIN_KEY_PREFIX)
    assert (principal.tenant_id, principal.role, principal.name) == (tenant.id, role, "ops")
    assert not principal.is_operator
    with db.read() as conn:
        assert authenticate_admin(conn, key) == principal
        row = conn.execute(select(admin_keys).where(admin_keys.c.id == principal.key_id)).one()
        assert authenticate_admin(conn, key[:-1]) is None
        assert authenticate_admin(conn, "") is None
    assert row.hash == hashlib.sha512(key.encode()).hexdigest()
    assert (row.prefix, row.last4) == (key[:18], key[-4:])


def test_an_operator_key(db: Database) -> None:
    with db.write() as conn:
        key, principal = create_admin_key(conn, tenant_id=None, role="operator")
    assert principal.is_operator and principal.tenant_id is None
    with db.read() as conn:
        assert authenticate_admin(conn, key) == principal


@pytest.mark.parametrize(
    ("tenant_bound", "role"),
    [(True, "operator"), (False, "owner"), (False, "member"), (True, "root"), (True, "Owner")],
)
def test_roles_and_tenants_must_agree(
    db: Database, tenant: Tenant, tenant_bound: bool, role: str
) -> None:
    with db.write() as conn, pytest.raises(InvalidInput) as refused:
        create_admin_key(conn, tenant_id=tenant.id if tenant_bound else None, role=role)
    assert refused.value.code == "invalid_role"


def test_an_unknown_tenant_is_refused(db: Database) -> None:
    with db.write() as conn, pytest.raises(NotFound) as missing:
        create_admin_key(conn, tenant_id="no-such-tenant", role="owner")
    assert missing.value.code == "tenant_not_found"


def test_revoked_keys_stop_working_and_keys_rotate(db: Database, tenant: Tenant) -> None:
    with db.write() as conn:
        key, principal = create_admin_key(conn, tenant_id=tenant.id, role="admin")
        second, info = add_admin_key(conn, principal.id)
        assert principal.key_id is not None
        record_admin_key_use(conn, principal.key_id)
    with db.write() as conn:
        revoke_admin_key(conn, principal.key_id)
        revoke_admin_key(conn, principal.key_id)  # idempotent
        with pytest.raises(NotFound):
            revoke_admin_key(conn, "no-such-key")
        with pytest.raises(NotFound):
            add_admin_key(conn, "no-such-principal")
    with db.read() as conn:
        assert authenticate_admin(conn, key) is None
        found = authenticate_admin(conn, second)
        assert found is not None and (found.id, found.key_id) == (principal.id, info.id)
        listed = list_admin_keys(conn, principal.id)
    assert [k.id for k in listed] == [principal.key_id, info.id]
    assert listed[0].revoked_at is not None and listed[0].last_used_at is not None
    assert listed[1].revoked_at is None and listed[1].last4 == second[-4:]


def test_scim_tokens_and_admin_keys_do_not_mix(db: Database, tenant: Tenant) -> None:
    with db.write() as conn:
        key, _ = create_admin_key(conn, tenant_id=tenant.id, role="owner")
        token = create_token(conn, tenant.id)
    with db.read() as conn:
        assert authenticate(conn, "acme", key) is None
        assert authenticate_admin(conn, token) is None


def _p(role: str, tenant_id: str | None = "t1") -> Principal:
    return Principal("p", None if role == "operator" else tenant_id, role, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("role", "read", "manage"),
    [
        ("owner", True, True),
        ("admin", True, True),
        ("security-admin", True, True),
        ("member", True, False),
        ("operator", True, True),
    ],
)
def test_permissions(role: str, read: bool, manage: bool) -> None:
    principal = _p(role)
    assert (can_read(principal, "t1"), can_manage(principal, "t1")) == (read, manage)
    # Another tenant: only an operator.
    elsewhere = role == "operator"
    assert (can_read(principal, "t2"), can_manage(principal, "t2")) == (elsewhere, elsewhere)
