"""A tenant's SSO connection: the IdP its users sign in with. SCIM provisions users who
must be able to log in, so SCIM is served only while the connection is active (gates.py).

States: "configured" (set, not yet checked) → "verified" (the host app checked a login
through it) → "active" (verified and in use). `set_connection` always goes back to
"configured": a changed IdP must be verified again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args
from urllib.parse import urlsplit

from sqlalchemy import Connection, Row, insert, select, update

from scimhub.db.tables import sso_connections
from scimhub.tenancy.errors import InvalidInput, NotFound

Protocol = Literal["saml", "oidc"]
State = Literal["configured", "verified", "active"]
PROTOCOLS: tuple[Protocol, ...] = get_args(Protocol)
STATES: tuple[State, ...] = get_args(State)
MAX_IDP_ID = 2048


@dataclass(frozen=True, slots=True)
class SsoConnection:
    tenant_id: str
    protocol: Protocol
    idp_id: str
    metadata_url: str | None
    state: State
    updated_at: datetime


def connection_from_row(row: Row[Any]) -> SsoConnection:
    return SsoConnection(
        tenant_id=row.tenant_id,
        protocol=cast(Protocol, row.protocol),
        idp_id=row.idp_id,
        metadata_url=row.metadata_url,
        state=cast(State, row.state),
        updated_at=row.updated_at,
    )


def _check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if (
        len(url) > MAX_IDP_ID
        or parts.scheme not in ("https", "http")
        or not parts.netloc
        or any(c.isspace() or c == "\x00" for c in url)
    ):
        raise InvalidInput(
            f"metadata URL must be an http(s) URL, not {url!r}", code="invalid_metadata_url"
        )
    return url


def set_connection(
    conn: Connection,
    tenant_id: str,
    *,
    protocol: str,
    idp_id: str,
    metadata_url: str | None = None,
) -> SsoConnection:
    """Creates or reconfigures the tenant's connection; its state becomes "configured".
    InvalidInput for an unknown protocol, an empty IdP id or a malformed URL."""
    if protocol not in PROTOCOLS:
        raise InvalidInput(
            f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}",
            code="invalid_protocol",
        )
    idp_id = idp_id.strip() if isinstance(idp_id, str) else ""
    if not idp_id or len(idp_id) > MAX_IDP_ID or "\x00" in idp_id:
        raise InvalidInput(
            f"the IdP id (SAML entity ID or OIDC issuer) is 1-{MAX_IDP_ID} characters",
            code="invalid_idp_id",
        )
    url = _check_url(metadata_url) if metadata_url else None
    now = datetime.now(UTC)
    values = {
        "protocol": protocol,
        "idp_id": idp_id,
        "metadata_url": url,
        "state": "configured",
        "updated_at": now,
    }
    changed = conn.execute(
        update(sso_connections).where(sso_connections.c.tenant_id == tenant_id).values(**values)
    ).rowcount
    if not changed:
        conn.execute(insert(sso_connections).values(tenant_id=tenant_id, created_at=now, **values))
    return SsoConnection(tenant_id, protocol, idp_id, url, "configured", now)


def get_connection(conn: Connection, tenant_id: str) -> SsoConnection | None:
    row = conn.execute(
        select(sso_connections).where(sso_connections.c.tenant_id == tenant_id)
    ).first()
    return connection_from_row(row) if row else None


def set_state(conn: Connection, tenant_id: str, state: str) -> SsoConnection:
    """Moves the connection to "verified" or "active" (or back to "configured").
    NotFound (code "sso_not_configured") when the tenant has no connection."""
    if state not in STATES:
        raise InvalidInput(
            f"state must be one of {', '.join(STATES)}, not {state!r}", code="invalid_state"
        )
    now = datetime.now(UTC)
    changed = conn.execute(
        update(sso_connections)
        .where(sso_connections.c.tenant_id == tenant_id)
        .values(state=state, updated_at=now)
    ).rowcount
    if not changed:
        raise NotFound("the tenant has no SSO connection", code="sso_not_configured")
    found = get_connection(conn, tenant_id)
    assert found is not None
    return found
