"""SCIM bearer tokens. A token is shown once; only its SHA-512 digest is stored (a
256-bit random token needs no slow hash: there is nothing to brute-force), with a
prefix and the last 4 characters to recognise it in listings."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, or_, select

from scimhub.db.tables import tenants, tokens
from scimhub.tenancy.tenants import SLUG, Tenant

TOKEN_PREFIX = "scimhub_"


def digest(token: str) -> str:
    return hashlib.sha512(token.encode("utf-8")).hexdigest()


def create_token(conn: Connection, tenant_id: str, *, expires_at: datetime | None = None) -> str:
    """Create a token for the tenant and return its plaintext (the only time it exists)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        insert(tokens).values(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            prefix=token[:12],
            last4=token[-4:],
            hash=digest(token),
            created_at=datetime.now(UTC),
            expires_at=expires_at,
            use_count=0,
        )
    )
    return token


def authenticate(conn: Connection, tenant_slug: str, presented_token: str) -> Tenant | None:
    """The tenant when `presented_token` is a live token of the tenant `tenant_slug`:
    one lookup by the unique digest, joined to the tenant by slug. A token of another
    tenant, a revoked or an expired one gives None."""
    if not SLUG.fullmatch(tenant_slug):
        return None
    now = datetime.now(UTC)
    row = conn.execute(
        select(tenants.c.id, tenants.c.slug, tenants.c.name)
        .select_from(tokens.join(tenants, tenants.c.id == tokens.c.tenant_id))
        .where(
            tokens.c.hash == digest(presented_token),
            tenants.c.slug == tenant_slug,
            tokens.c.revoked_at.is_(None),
            or_(tokens.c.expires_at.is_(None), tokens.c.expires_at > now),
        )
    ).first()
    return Tenant(row.id, row.slug, row.name) if row else None
