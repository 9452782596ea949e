"""Users on SQL: one `users` row per user (indexed columns + the data dict as JSON), its
emails mirrored in `user_emails`, its groups read from `memberships`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from scimhub.db.prepared import Prepared
from scimhub.db.tables import groups, memberships, user_emails, users
from scimhub.resources import sqlpaging
from scimhub.resources.sqlpaging import SqlStore, check_storable, chunks, storable_id, utcnow
from scimhub.resources.store import MemberChange, Stored
from scimhub.scim.errors import InvalidValue, Uniqueness
from scimhub.scim.schema import USER

_COLUMNS = (users.c.id, users.c.version, users.c.created, users.c.last_modified, users.c.data)


def _columns(data: dict[str, Any]) -> dict[str, Any]:
    """The indexed columns, pulled out of a data dict."""
    user_name = data.get("userName")
    if not isinstance(user_name, str) or not user_name:
        raise InvalidValue("userName is required")
    active = data.get("active")
    return {
        "user_name": user_name,
        "user_name_ci": user_name.lower(),
        "external_id": data.get("externalId"),
        "display_name": data.get("displayName"),
        "active": active if isinstance(active, bool) else None,
        "data": data,
    }


def email_rows(tenant_id: str, user_id: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    emails = data.get("emails")
    rows = []
    for email in emails if isinstance(emails, list) else []:
        if not isinstance(email, dict):
            continue
        value, kind, primary = email.get("value"), email.get("type"), email.get("primary")
        rows.append(
            {
                "tenant_id": tenant_id,
                "user_id": user_id,
                "value": value if isinstance(value, str) else None,
                "value_ci": value.lower() if isinstance(value, str) else None,
                "type": kind.lower() if isinstance(kind, str) else None,
                "primary": primary if isinstance(primary, bool) else None,
            }
        )
    return rows


def _group_rows_statement() -> sa.Select[Any]:
    """Direct and indirect groups of the member ids `:ids` in tenant `:tenant_id`: a
    recursive walk up `memberships`. UNION (not UNION ALL) ends the walk even if the
    data held a cycle. Built once: constructing a recursive CTE costs milliseconds of
    Python, far more than SQLite takes to run it."""
    tenant_id = sa.bindparam("tenant_id", type_=sa.String())
    m = memberships.alias("m")
    walk = (
        sa.select(
            memberships.c.member_id.label("member_id"),
            memberships.c.group_id.label("group_id"),
            sa.literal(0).label("depth"),
        )
        .where(
            memberships.c.tenant_id == tenant_id,
            memberships.c.member_id.in_(sa.bindparam("ids", expanding=True)),
        )
        .cte("walk", recursive=True)
    )
    walk = walk.union(
        sa.select(walk.c.member_id, m.c.group_id, sa.literal(1)).where(
            m.c.member_id == walk.c.group_id, m.c.tenant_id == tenant_id
        )
    )
    return (
        sa.select(
            walk.c.member_id,
            walk.c.group_id,
            sa.func.min(walk.c.depth).label("depth"),
            groups.c.display_name,
        )
        .join(groups, groups.c.id == walk.c.group_id)
        .group_by(
            walk.c.member_id, walk.c.group_id, groups.c.display_name, groups.c.display_name_ci
        )
        .order_by(walk.c.member_id, groups.c.display_name_ci, walk.c.group_id)
    )


_GROUP_ROWS = _group_rows_statement()

# Statements of the create path, compiled once and sent straight to the driver
# (db/prepared.py): a create is otherwise mostly SQLAlchemy's per-statement overhead.
_USER_NAME_TAKEN = Prepared(
    sa.select(users.c.id).where(
        users.c.tenant_id == sa.bindparam("tenant_id"),
        users.c.user_name_ci == sa.bindparam("user_name_ci"),
        users.c.id != sa.bindparam("id"),
    )
)
_INSERT_USER = Prepared(
    sa.insert(users),
    keys=(
        *("id", "tenant_id", "created", "last_modified", "version"),
        *("created_provider", "updated_provider"),
        *("user_name", "user_name_ci", "external_id", "display_name", "active", "data"),
    ),
)
_EMAIL_KEYS = ("tenant_id", "user_id", "value", "value_ci", "type", "primary")
_INSERT_EMAILS = Prepared(sa.insert(user_emails), keys=_EMAIL_KEYS)


def group_rows(
    conn: Connection, tenant_id: str, member_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Direct and indirect groups of each member id (RFC 7643 §4.1.2 `groups`)."""
    result: dict[str, list[dict[str, Any]]] = {i: [] for i in member_ids}
    if not member_ids:
        return result
    rows = conn.execute(_GROUP_ROWS, {"tenant_id": tenant_id, "ids": list(member_ids)})
    for row in rows:
        result[row.member_id].append(
            {
                "value": row.group_id,
                "display": row.display_name,
                "type": "direct" if row.depth == 0 else "indirect",
            }
        )
    return result


def remove_member_everywhere(
    conn: Connection, tenant_id: str, member_id: str, *, provider: str | None = None
) -> None:
    """Take a deleted user or group out of every group that has it as a direct member.
    Those groups' `members` change, so their version and lastModified move too (their
    ETags must change, RFC 7644 §3.14, and delta syncs on meta.lastModified see it).

    Locks in the order a member PATCH takes them (the group rows, then membership rows),
    so the two cannot deadlock; member_count moves by the rows this DELETE removed, so a
    concurrent PATCH that removed the same member first is not counted twice.
    `provider` (of the deleting request) becomes those groups' updated provider."""
    parents = sa.select(memberships.c.group_id).where(
        memberships.c.tenant_id == tenant_id, memberships.c.member_id == member_id
    )
    conn.execute(
        sa.select(groups.c.pk)
        .where(groups.c.tenant_id == tenant_id, groups.c.id.in_(parents))
        .order_by(groups.c.pk)
        .with_for_update()  # PostgreSQL only; SQLite writers are serialized anyway
    ).all()
    removed = (
        conn.execute(
            sa.delete(memberships)
            .where(memberships.c.tenant_id == tenant_id, memberships.c.member_id == member_id)
            .returning(memberships.c.group_id)
        )
        .scalars()
        .all()
    )
    for chunk in chunks(removed):
        conn.execute(
            sa.update(groups)
            .where(groups.c.tenant_id == tenant_id, groups.c.id.in_(chunk))
            .values(
                member_count=groups.c.member_count - 1,
                version=groups.c.version + 1,
                last_modified=utcnow(),
                updated_provider=provider,
            )
        )


class UserStore(SqlStore):
    table = users
    columns = _COLUMNS
    rt = USER
    related = "groups"

    def _related_rows(
        self, conn: Connection, tenant_id: str, ids: Sequence[str]
    ) -> dict[str, list[dict[str, Any]]]:
        return group_rows(conn, tenant_id, ids)

    def _check_user_name(
        self, conn: Connection, tenant_id: str, user_name_ci: str, id: str | None
    ) -> None:
        """Uniqueness when another user of the tenant has this userName (checked first
        for a clean error; the unique index catches what a race lets through)."""
        params = {"tenant_id": tenant_id, "user_name_ci": user_name_ci, "id": id or ""}
        if _USER_NAME_TAKEN.first(conn, params) is not None:
            raise Uniqueness("userName is already taken")

    def _exists(self, conn: Connection, tenant_id: str, id: str, version: int) -> bool:
        query = sa.select(users.c.pk).where(
            users.c.tenant_id == tenant_id, users.c.id == id, users.c.version == version
        )
        return conn.execute(query).first() is not None

    def insert(
        self,
        conn: Connection,
        tenant_id: str,
        data: dict[str, Any],
        *,
        provider: str | None = None,
    ) -> Stored:
        """Raises Uniqueness (409) when the userName is taken, case-insensitively.
        `provider`: the URL's provider segment (None for the bare tenant URL), recorded
        as the user's created and updated provider."""
        id, now = str(uuid.uuid4()), utcnow()
        self.write_row(
            conn,
            tenant_id,
            id,
            data,
            created=now,
            last_modified=now,
            version=1,
            created_provider=provider,
            updated_provider=provider,
        )
        return Stored(id, 1, now, now, data, groups=[])  # in no group yet

    def write_row(
        self,
        conn: Connection,
        tenant_id: str,
        id: str,
        data: dict[str, Any],
        *,
        created: datetime,
        last_modified: datetime,
        version: int,
        created_provider: str | None,
        updated_provider: str | None,
    ) -> None:
        """The `users` row and its email mirror, for a create or for the lifecycle's
        restore of a retained account (scimhub/lifecycle/retention.py). Raises
        Uniqueness when the userName is taken, from the unique index: linking
        (scimhub/lifecycle/linking.py) has just looked the userName up, so a second
        lookup first would only repeat it."""
        check_storable(data)
        columns = _columns(data)
        try:
            _INSERT_USER.execute(
                conn,
                {
                    "id": id,
                    "tenant_id": tenant_id,
                    "created": created,
                    "last_modified": last_modified,
                    "version": version,
                    "created_provider": created_provider,
                    "updated_provider": updated_provider,
                    **columns,
                },
            )
        except IntegrityError as exc:
            if sqlpaging.violates(exc, "uq_users_tenant_user_name_ci", "user_name_ci"):
                raise Uniqueness("userName is already taken") from exc
            raise
        emails = email_rows(tenant_id, id, data)
        if emails:
            _INSERT_EMAILS.executemany(conn, emails)

    def update(
        self,
        conn: Connection,
        tenant_id: str,
        id: str,
        data: dict[str, Any],
        *,
        expected_version: int,
        member_changes: Sequence[MemberChange] = (),
        provider: str | None = None,
    ) -> Stored | None:
        """One conditional UPDATE; None when no row has this id and version (gone, or
        another writer moved the version on). Raises Uniqueness on a userName clash.
        `provider` becomes the user's updated provider. `member_changes` is there for
        the common store interface: a user has no members, so there must be none."""
        if member_changes:
            raise ValueError("a user has no members to change")
        if not storable_id(id):
            return None
        check_storable(data)
        columns = _columns(data)
        try:
            self._check_user_name(conn, tenant_id, columns["user_name_ci"], id)
        except Uniqueness:
            # Only a clash for a user that is there at this version: otherwise the
            # update misses (None), as it would without the clash.
            if not self._exists(conn, tenant_id, id, expected_version):
                return None
            raise
        now = utcnow()
        try:
            row = conn.execute(
                sa.update(users)
                .where(
                    users.c.tenant_id == tenant_id,
                    users.c.id == id,
                    users.c.version == expected_version,
                )
                .values(
                    version=users.c.version + 1,
                    last_modified=now,
                    updated_provider=provider,
                    **columns,
                )
                .returning(users.c.created, users.c.version)
            ).first()
        except IntegrityError as exc:
            if sqlpaging.violates(exc, "uq_users_tenant_user_name_ci", "user_name_ci"):
                raise Uniqueness("userName is already taken") from exc
            raise
        if row is None:
            return None
        conn.execute(sa.delete(user_emails).where(user_emails.c.user_id == id))
        emails = email_rows(tenant_id, id, data)
        if emails:
            conn.execute(sa.insert(user_emails), emails)
        return Stored(id, row.version, row.created, now, data)

    def delete(
        self, conn: Connection, tenant_id: str, id: str, *, provider: str | None = None
    ) -> bool:
        """Deletes the user, its email rows (FK cascade) and its memberships; the groups
        it was in get a new version (see `remove_member_everywhere`)."""
        if not storable_id(id):
            return False
        deleted = conn.execute(
            sa.delete(users).where(users.c.tenant_id == tenant_id, users.c.id == id)
        ).rowcount
        if not deleted:
            return False
        remove_member_everywhere(conn, tenant_id, id, provider=provider)
        return True
