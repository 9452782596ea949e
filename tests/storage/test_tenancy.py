"""Tenants and tokens on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from scimhub.db.engine import Database
from scimhub.db.tables import tokens
from scimhub.tenancy.tenants import Tenant, TenantExists, create_tenant, get_tenant, list_tenants
from scimhub.tenancy.tokens import authenticate, create_token, digest


def test_create_get_list(db: Database, tenant: Tenant) -> None:
    with db.write() as conn:
        other = create_tenant(conn, "b-2")
        assert other.name == "b-2"
        assert get_tenant(conn, "acme") == tenant
        assert get_tenant(conn, "nope") is None
        assert [t.slug for t in list_tenants(conn)] == ["acme", "b-2"]


@pytest.mark.parametrize("slug", ["", "-a", "A", "a_b", "a" * 64, "é", "a\n", "a\x00"])
def test_bad_slug(db: Database, slug: str) -> None:
    with db.write() as conn, pytest.raises(ValueError):
        create_tenant(conn, slug)


def test_duplicate_slug(db: Database, tenant: Tenant) -> None:
    with db.write() as conn, pytest.raises(TenantExists):
        create_tenant(conn, "acme")


def test_token(db: Database, tenant: Tenant, other_tenant: Tenant) -> None:
    with db.write() as conn:
        token = create_token(conn, tenant.id)
        other = create_token(conn, other_tenant.id)
    assert token.startswith("scimhub_") and len(token) > 40
    with db.read() as conn:
        assert (found := authenticate(conn, "acme", token)) and found.tenant == tenant
        assert (found := authenticate(conn, "globex", other)) and found.tenant == other_tenant
        # A token of another tenant, a wrong or truncated one.
        assert authenticate(conn, "globex", token) is None
        assert authenticate(conn, "acme", token[:-1]) is None
        assert authenticate(conn, "nope", token) is None
        assert authenticate(conn, "acme\x00", token) is None
        assert authenticate(conn, "acme\n", token) is None
        assert get_tenant(conn, "acme\x00") is None
        row = conn.execute(tokens.select().where(tokens.c.hash == digest(token))).one()
        assert row.prefix == token[:12] and row.last4 == token[-4:]
        assert len(row.hash) == 128


def test_revoked_and_expired(db: Database, tenant: Tenant) -> None:
    now = datetime.now(UTC)
    with db.write() as conn:
        revoked = create_token(conn, tenant.id)
        expired = create_token(conn, tenant.id, expires_at=now - timedelta(seconds=1))
        later = create_token(conn, tenant.id, expires_at=now + timedelta(hours=1))
        conn.execute(update(tokens).where(tokens.c.hash == digest(revoked)).values(revoked_at=now))
    with db.read() as conn:
        assert authenticate(conn, "acme", revoked) is None
        assert authenticate(conn, "acme", expired) is None
        assert (found := authenticate(conn, "acme", later)) and found.tenant == tenant
