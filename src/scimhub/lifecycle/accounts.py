"""App-side state of an account (`account_states`): sessions revocation, accounts the
app created outside SCIM (JIT on first SSO login, or by an admin), app-owned
attributes. Rows are written only when there is something to record, so a SCIM create
writes none."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from scimhub.db.tables import account_links, account_states
from scimhub.resources.sqlpaging import utcnow

_UPDATE_STATE = sa.update(account_states).where(
    account_states.c.user_id == sa.bindparam("b_user_id")
)


def set_state(conn: Connection, tenant_id: str, user_id: str, **values: Any) -> None:
    """Upsert: an UPDATE, then an INSERT when the account had no row. The callers hold
    the user row's write lock (a SCIM write, or the admin API's own transaction), so
    two of them cannot both insert."""
    now = utcnow()
    updated = conn.execute(
        _UPDATE_STATE.values(updated_at=now, **values), {"b_user_id": user_id}
    ).rowcount
    if not updated:
        conn.execute(
            sa.insert(account_states).values(
                user_id=user_id, tenant_id=tenant_id, updated_at=now, **values
            )
        )


def revoke_sessions(conn: Connection, tenant_id: str, user_id: str) -> datetime:
    """Sessions issued before now are invalid (the access check reports the instant)."""
    at = utcnow()
    set_state(conn, tenant_id, user_id, sessions_revoked_at=at)
    return at


def record_link(
    conn: Connection,
    tenant_id: str,
    user_id: str,
    *,
    matched_by: str,
    target: str,
    provider: str | None,
    actor: str | None,
) -> None:
    conn.execute(
        sa.insert(account_links).values(
            tenant_id=tenant_id,
            user_id=user_id,
            matched_by=matched_by,
            target=target,
            provider=provider,
            actor=actor,
            linked_at=utcnow(),
        )
    )


def forget(conn: Connection, user_ids: list[str]) -> None:
    """The account is purged: its app-side state goes too."""
    if user_ids:
        conn.execute(sa.delete(account_states).where(account_states.c.user_id.in_(user_ids)))
