"""Groups on SQL: one `groups` row per group and one `memberships` row per direct
member. A member change touches only the rows it names: its cost does not grow with the
group (no member list is loaded, `member_count` moves by the rows changed)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from scimhub.db.sqlfilter import compile_member_filter
from scimhub.db.tables import groups, memberships, users
from scimhub.resources.sqlpaging import (
    AnyRow,
    SqlStore,
    check_storable,
    chunks,
    storable_id,
    utcnow,
)
from scimhub.resources.store import MemberChange, MemberDelta, Stored
from scimhub.resources.users import remove_member_everywhere
from scimhub.scim.errors import InvalidValue
from scimhub.scim.schema import GROUP

_COLUMNS = (
    groups.c.id,
    groups.c.version,
    groups.c.created,
    groups.c.last_modified,
    groups.c.member_count,
    groups.c.data,
)


def _columns(data: dict[str, Any]) -> dict[str, Any]:
    display_name = data.get("displayName")
    if not isinstance(display_name, str) or not display_name:
        raise InvalidValue("displayName is required")
    return {
        "display_name": display_name,
        "display_name_ci": display_name.lower(),
        "external_id": data.get("externalId"),
        "data": data,
    }


def _data(data: dict[str, Any]) -> dict[str, Any]:
    # Members live in `memberships`, never in the JSON.
    return {k: v for k, v in data.items() if k != "members"} if "members" in data else data


def _displays(members: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The `display` each member was given by the client, by member id."""
    return {
        m["value"]: m["display"]
        for m in members
        if isinstance(m, dict) and isinstance(m.get("display"), str)
    }


def _member_ids(members: Sequence[dict[str, Any]]) -> list[str]:
    """The ids named in member objects, in order, without repeats."""
    ids: dict[str, None] = {}
    for member in members:
        value = member.get("value") if isinstance(member, dict) else None
        if not isinstance(value, str) or not value:
            raise InvalidValue("each member needs a string 'value' (the member's id)")
        ids[value] = None
    return list(ids)


class GroupStore(SqlStore):
    table = groups
    columns = _COLUMNS
    rt = GROUP
    related = "members"

    def __init__(self, dialect: str) -> None:
        super().__init__(dialect)
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    # -- reads ---------------------------------------------------------------------

    def _stored(self, row: AnyRow) -> Stored:
        stored = super()._stored(row)
        stored.member_count = row.member_count
        return stored

    def _related_rows(
        self, conn: Connection, tenant_id: str, group_ids: Sequence[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """[{"value", "type", "display"?}] ordered by member id. `display` is what the
        client sent with the member, if anything: stored as sent, never derived, so a
        client reads back exactly what it wrote (RFC 7643 §4.2 defines no source for it)."""
        m = memberships
        rows = conn.execute(
            sa.select(m.c.group_id, m.c.member_id, m.c.member_type, m.c.display)
            .where(m.c.tenant_id == tenant_id, m.c.group_id.in_(group_ids))
            .order_by(m.c.group_id, m.c.member_id)
        )
        result: dict[str, list[dict[str, Any]]] = {i: [] for i in group_ids}
        for row in rows:
            member = {"value": row.member_id, "type": row.member_type}
            if row.display is not None:
                member["display"] = row.display
            result[row.group_id].append(member)
        return result

    # -- writes --------------------------------------------------------------------

    def insert(
        self,
        conn: Connection,
        tenant_id: str,
        data: dict[str, Any],
        members: Sequence[dict[str, Any]] | None = None,
        *,
        provider: str | None = None,
    ) -> Stored:
        """The members are `data["members"]` unless given apart (as bench/load.py does).
        `provider`: the URL's provider segment (None for the bare tenant URL), recorded
        as the group's created and updated provider."""
        if members is None:
            members = data.get("members") or []
        data = _data(data)
        check_storable(data)
        columns = _columns(data)
        typed = self._member_types(conn, tenant_id, _member_ids(members))
        id, now = str(uuid.uuid4()), utcnow()
        conn.execute(
            sa.insert(groups).values(
                id=id,
                tenant_id=tenant_id,
                created=now,
                last_modified=now,
                version=1,
                member_count=len(typed),
                created_provider=provider,
                updated_provider=provider,
                **columns,
            )
        )
        # A new group has no parent yet, so no member can close a cycle through it.
        added = self._add_rows(conn, tenant_id, id, typed, _displays(members))
        delta = MemberDelta(added=tuple((i, typed[i]) for i in added))
        return Stored(id, 1, now, now, data, member_count=len(typed), delta=delta)

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
        """The conditional UPDATE first (None when the id/version is not there; on
        PostgreSQL it also locks the row, so member changes to one group queue), then
        the member changes in order, then member_count moves by the rows changed.
        `provider` becomes the group's updated provider."""
        if not storable_id(id):
            return None
        data = _data(data)
        check_storable(data)
        now = utcnow()
        row = conn.execute(
            sa.update(groups)
            .where(
                groups.c.tenant_id == tenant_id,
                groups.c.id == id,
                groups.c.version == expected_version,
            )
            .values(
                version=groups.c.version + 1,
                last_modified=now,
                updated_provider=provider,
                **_columns(data),
            )
            .returning(groups.c.created, groups.c.version, groups.c.member_count)
        ).first()
        if row is None:
            return None
        added: dict[str, str] = {}
        removed: dict[str, None] = {}  # ordered set
        for change in member_changes:
            now_added, now_removed = self._apply(conn, tenant_id, id, change)
            for i in now_removed:
                if i in added:  # added earlier in this request: it was never there
                    del added[i]
                else:
                    removed[i] = None
            for i, kind in now_added.items():
                if i in removed:  # removed earlier in this request (a PUT): unchanged
                    del removed[i]
                else:
                    added[i] = kind
        count = row.member_count + len(added) - len(removed)
        if count != row.member_count:
            conn.execute(sa.update(groups).where(groups.c.id == id).values(member_count=count))
        delta = MemberDelta(added=tuple(added.items()), removed=tuple(removed))
        return Stored(id, row.version, row.created, now, data, member_count=count, delta=delta)

    def delete(
        self, conn: Connection, tenant_id: str, id: str, *, provider: str | None = None
    ) -> bool:
        """Deletes the group and its memberships (FK cascade), and takes it out of the
        groups it was a member of (they get a new version)."""
        if not storable_id(id):
            return False
        deleted = conn.execute(
            sa.delete(groups).where(groups.c.tenant_id == tenant_id, groups.c.id == id)
        ).rowcount
        if not deleted:
            return False
        remove_member_everywhere(conn, tenant_id, id, provider=provider)
        return True

    # -- members -------------------------------------------------------------------

    def _apply(
        self, conn: Connection, tenant_id: str, group_id: str, change: MemberChange
    ) -> tuple[dict[str, str], list[str]]:
        """Run one MemberChange; returns the rows it added ({id: type}), then removed."""
        if change.op == "add":
            typed = self._checked(conn, tenant_id, group_id, change.members)
            displays = _displays(change.members)
            ids = self._add_rows(conn, tenant_id, group_id, typed, displays, ignore_existing=True)
            return {i: typed[i] for i in ids}, []
        if change.op == "replace":
            typed = self._checked(conn, tenant_id, group_id, change.members)
            removed = self._delete_rows(conn, tenant_id, group_id, None)
            displays = _displays(change.members)
            ids = self._add_rows(conn, tenant_id, group_id, typed, displays)
            return {i: typed[i] for i in ids}, removed
        if change.members:
            removed = []
            for chunk in chunks([i for i in _member_ids(change.members) if storable_id(i)]):
                removed += self._delete_rows(
                    conn, tenant_id, group_id, memberships.c.member_id.in_(chunk)
                )
            return {}, removed
        if change.filter is not None:
            condition = compile_member_filter(change.filter, dialect=self.dialect)
            return {}, self._delete_rows(conn, tenant_id, group_id, condition)
        return {}, self._delete_rows(conn, tenant_id, group_id, None)

    def _checked(
        self, conn: Connection, tenant_id: str, group_id: str, members: Sequence[dict[str, Any]]
    ) -> dict[str, str]:
        typed = self._member_types(conn, tenant_id, _member_ids(members))
        self._refuse_cycles(
            conn, tenant_id, group_id, [i for i, t in typed.items() if t == "Group"]
        )
        return typed

    def _member_types(self, conn: Connection, tenant_id: str, ids: Sequence[str]) -> dict[str, str]:
        """{id: "User"|"Group"} for ids of this tenant, in the given order; InvalidValue
        naming the unknown ones (another tenant's ids are unknown here)."""
        found: dict[str, str] = {}
        # FOR SHARE (PostgreSQL): a concurrent delete of a member waits for this
        # transaction, then also removes the membership row it adds.
        for table, kind in ((users, "User"), (groups, "Group")):
            wanted = [i for i in ids if i not in found and storable_id(i)]
            for chunk in chunks(wanted):
                rows = conn.execute(
                    sa.select(table.c.id)
                    .where(table.c.tenant_id == tenant_id, table.c.id.in_(chunk))
                    .with_for_update(read=True)
                ).scalars()
                found.update((i, kind) for i in rows)
        missing = [i for i in ids if i not in found]
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise InvalidValue(f"no such user or group to add as member: {shown}")
        return {i: found[i] for i in ids}

    def _refuse_cycles(
        self, conn: Connection, tenant_id: str, group_id: str, group_members: Sequence[str]
    ) -> None:
        """A group may not contain itself, directly or through other groups: adding g
        to G closes a cycle when g is G or g is an ancestor of G. Walks up from G
        (few rows: the groups containing G), not down from g (all of g's members)."""
        if not group_members:
            return
        if group_id in group_members:
            raise InvalidValue("a group cannot be a member of itself")
        m = memberships.alias("m")
        # Seeded from the row (not a literal) so the CTE column has the column's
        # collation on PostgreSQL.
        up = (
            sa.select(groups.c.id.label("id"))
            .where(groups.c.tenant_id == tenant_id, groups.c.id == group_id)
            .cte("up", recursive=True)
        )
        up = up.union(
            sa.select(m.c.group_id).where(m.c.member_id == up.c.id, m.c.tenant_id == tenant_id)
        )
        for chunk in chunks(group_members):
            hit = conn.execute(sa.select(up.c.id).where(up.c.id.in_(chunk)).limit(1)).first()
            if hit is not None:
                raise InvalidValue(
                    f"group {hit.id} contains this group: adding it as a member would "
                    "create a cycle"
                )

    def _add_rows(
        self,
        conn: Connection,
        tenant_id: str,
        group_id: str,
        typed: dict[str, str],
        displays: dict[str, str],
        *,
        ignore_existing: bool = False,
    ) -> list[str]:
        """The ids of the rows inserted (an existing member is not, with ignore_existing)."""
        added: list[str] = []
        items = list(typed.items())
        for chunk in chunks(items):
            rows = [
                {
                    "tenant_id": tenant_id,
                    "group_id": group_id,
                    "member_id": i,
                    "member_type": t,
                    "display": displays.get(i),
                }
                for i, t in chunk
            ]
            stmt = self._insert(memberships).values(rows)
            if ignore_existing:
                # Adding an existing member is a no-op (Entra re-sends adds).
                stmt = stmt.on_conflict_do_nothing()
            # RETURNING gives back only the inserted rows (rowcount of a multi-row
            # INSERT is not reported by every driver: psycopg gives -1).
            added += conn.execute(stmt.returning(memberships.c.member_id)).scalars()
        return added

    def _delete_rows(
        self, conn: Connection, tenant_id: str, group_id: str, condition: Any
    ) -> list[str]:
        """The ids of the rows deleted."""
        stmt = sa.delete(memberships).where(
            memberships.c.tenant_id == tenant_id, memberships.c.group_id == group_id
        )
        if condition is not None:
            stmt = stmt.where(condition)
        return list(conn.execute(stmt.returning(memberships.c.member_id)).scalars())
