"""Deprovisioned accounts: kept out of `users` (so SCIM answers 404 and no SCIM query,
filter or index sees them), restorable with the same id and history within the
tenant's retention period, purged after it.

- `retain` runs inside the SCIM DELETE's transaction, before the user row goes: the
  row, its emails and its direct groups move to `retained_users` / `retained_emails`.
- `restore` runs when the IdP creates the same person again (lifecycle/linking.py): the
  same id, `created` and history; the data the IdP sends now; the groups it was in
  that still exist (those groups get a new version, as on any member change).
- `purge_expired` deletes what is past each tenant's retention, with the account's
  hand grants and app-side state: `scimhub lifecycle purge`, and every
  `SCIMHUB_LIFECYCLE_PURGE_SECONDS` in `scimhub serve`."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from scimhub.db.engine import Database
from scimhub.db.tables import (
    groups,
    lifecycle_policies,
    memberships,
    retained_emails,
    retained_users,
    role_grants,
    users,
)
from scimhub.lifecycle.accounts import forget, revoke_sessions
from scimhub.lifecycle.policies import DEFAULT_RETENTION_DAYS
from scimhub.lifecycle.roles import delete_hand_grants
from scimhub.resources.sqlpaging import chunks, utcnow
from scimhub.resources.store import Stored
from scimhub.resources.users import UserStore, email_rows

log = logging.getLogger("scimhub.lifecycle")

_ROW = sa.select(
    users.c.user_name_ci,
    users.c.external_id,
    users.c.created_provider,
    users.c.updated_provider,
).where(users.c.tenant_id == sa.bindparam("tenant_id"), users.c.id == sa.bindparam("id"))
_DIRECT_GROUPS = sa.select(memberships.c.group_id).where(
    memberships.c.tenant_id == sa.bindparam("tenant_id"),
    memberships.c.member_id == sa.bindparam("id"),
)


def retain(conn: Connection, tenant_id: str, current: Stored, *, actor: str | None) -> None:
    """Copies the user about to be deleted into the retained tables and revokes its
    sessions. The caller deletes the `users` row next, in the same transaction."""
    params = {"tenant_id": tenant_id, "id": current.id}
    row = conn.execute(_ROW, params).one()
    group_ids = sorted(conn.execute(_DIRECT_GROUPS, params).scalars())
    # A user deleted, restored and deleted again: the newest copy wins.
    conn.execute(sa.delete(retained_users).where(retained_users.c.id == current.id))
    conn.execute(
        sa.insert(retained_users).values(
            id=current.id,
            tenant_id=tenant_id,
            user_name_ci=row.user_name_ci,
            external_id=row.external_id,
            provider=row.updated_provider,
            created=current.created,
            version=current.version,
            data=current.data,
            created_provider=row.created_provider,
            group_ids=group_ids,
            deleted_at=utcnow(),
            deleted_by=actor,
        )
    )
    emails = {e["value_ci"] for e in email_rows(tenant_id, current.id, current.data)}
    emails.discard(None)
    if emails:
        conn.execute(
            sa.insert(retained_emails),
            [{"tenant_id": tenant_id, "user_id": current.id, "value_ci": v} for v in emails],
        )
    revoke_sessions(conn, tenant_id, current.id)


def restore(
    conn: Connection,
    tenant_id: str,
    id: str,
    data: dict[str, Any],
    *,
    provider: str | None,
) -> Stored | None:
    """Moves a retained account back into `users` with `data` (what the IdP sends now).
    None when it is no longer retained (purged meanwhile)."""
    row = conn.execute(
        sa.select(retained_users)
        .where(retained_users.c.tenant_id == tenant_id, retained_users.c.id == id)
        .with_for_update()
    ).first()
    if row is None:
        return None
    now = utcnow()
    version = row.version + 1
    UserStore(conn.dialect.name).write_row(
        conn,
        tenant_id,
        id,
        data,
        created=row.created,
        last_modified=now,
        version=version,
        created_provider=row.created_provider,
        updated_provider=provider,
    )
    _restore_memberships(conn, tenant_id, id, list(row.group_ids or []), provider)
    conn.execute(sa.delete(retained_users).where(retained_users.c.id == id))
    return Stored(id, version, row.created, now, data)


def _restore_memberships(
    conn: Connection, tenant_id: str, user_id: str, group_ids: list[str], provider: str | None
) -> None:
    if not group_ids:
        return
    # Locked in pk order, as a member PATCH and remove_member_everywhere take them.
    existing = list(
        conn.execute(
            sa.select(groups.c.id)
            .where(groups.c.tenant_id == tenant_id, groups.c.id.in_(group_ids))
            .order_by(groups.c.pk)
            .with_for_update()
        ).scalars()
    )
    for chunk in chunks(existing):
        conn.execute(
            sa.insert(memberships),
            [
                {
                    "tenant_id": tenant_id,
                    "group_id": g,
                    "member_id": user_id,
                    "member_type": "User",
                    "display": None,
                }
                for g in chunk
            ],
        )
        conn.execute(
            sa.update(groups)
            .where(groups.c.tenant_id == tenant_id, groups.c.id.in_(chunk))
            .values(
                member_count=groups.c.member_count + 1,
                version=groups.c.version + 1,
                last_modified=utcnow(),
                updated_provider=provider,
            )
        )


def purge_account(conn: Connection, user_id: str) -> None:
    """What the "purge" delete policy (and the end of retention) removes besides the
    user row: hand grants and app-side state. The record of links stays (no personal
    data: ids, provider, time)."""
    delete_hand_grants(conn, user_id)
    forget(conn, [user_id])


def purge_expired(conn: Connection, now: datetime | None = None) -> int:
    """Deletes retained accounts past their tenant's retention; returns how many."""
    now = now or datetime.now(UTC)
    tenants = conn.execute(
        sa.select(retained_users.c.tenant_id, lifecycle_policies.c.retention_days)
        .outerjoin(lifecycle_policies, lifecycle_policies.c.tenant_id == retained_users.c.tenant_id)
        .group_by(retained_users.c.tenant_id, lifecycle_policies.c.retention_days)
    ).all()
    purged = 0
    for tenant_id, days in tenants:
        cutoff = now - timedelta(days=DEFAULT_RETENTION_DAYS if days is None else days)
        ids = list(
            conn.execute(
                sa.select(retained_users.c.id).where(
                    retained_users.c.tenant_id == tenant_id,
                    retained_users.c.deleted_at <= cutoff,
                )
            ).scalars()
        )
        for chunk in chunks(ids):
            conn.execute(sa.delete(retained_users).where(retained_users.c.id.in_(chunk)))
            conn.execute(sa.delete(role_grants).where(role_grants.c.user_id.in_(chunk)))
            forget(conn, list(chunk))
        purged += len(ids)
    return purged


class PurgeJob:
    """Runs `purge_expired` every `interval` seconds from a daemon thread (`scimhub
    serve`). Several instances may run it: each purge is one transaction and deleting
    what another instance deleted already deletes nothing."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, db: Database) -> int:
        with db.write() as conn:
            return purge_expired(conn)

    def start(self, db: Database, interval: float) -> None:
        if self._thread is not None or interval <= 0:
            return
        self._stop.clear()

        def _loop() -> None:
            while not self._stop.wait(interval):
                try:
                    purged = self.run_once(db)
                    if purged:
                        log.info("purged %d retained accounts past retention", purged)
                except Exception:
                    log.exception("purging retained accounts failed; retrying later")

        self._thread = threading.Thread(target=_loop, name="scimhub-lifecycle-purge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=30)
