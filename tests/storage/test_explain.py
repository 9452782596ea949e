"""The filters IdPs send on every sync use an index (docs: /work/shared/idp/behaviour.md):
`userName eq` (Okta, Entra, OneLogin), `externalId eq` and `emails[type eq "work"].value
eq` (Entra matching), `emails eq` (PingFederate), `displayName eq` on Groups (Okta, Entra)
and `meta.lastModified gt` (SailPoint delta aggregation). The plans of the statements
`search` really runs are read with EXPLAIN QUERY PLAN (SQLite) or EXPLAIN with
sequential scans disabled (PostgreSQL, after ANALYZE of a few thousand rows)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from scimhub.db.engine import Database
from scimhub.db.tables import groups, memberships, user_emails, users
from scimhub.lifecycle import linking
from scimhub.resources.groups import GroupStore
from scimhub.resources.store import Page
from scimhub.resources.users import UserStore
from scimhub.scim.filter import parse_filter
from scimhub.tenancy.tenants import Tenant

from .conftest import recorded

N = 2000


def load(db: Database, tenant_ids: list[str]) -> None:
    """Bulk rows straight into the tables (the stores would take longer)."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with db.write() as conn:
        for t, tenant_id in enumerate(tenant_ids):
            user_rows, email_rows, group_rows, member_rows = [], [], [], []
            for i in range(N):
                uid, gid = str(uuid.uuid4()), str(uuid.uuid4())
                when = start + timedelta(minutes=i)
                name = f"user{i}@example.com"
                user_rows.append(
                    {
                        "id": uid,
                        "tenant_id": tenant_id,
                        "user_name": name,
                        "user_name_ci": name,
                        "external_id": f"ext-{t}-{i}",
                        "display_name": f"User {i}",
                        "active": True,
                        "created": when,
                        "last_modified": when,
                        "version": 1,
                        "data": {"userName": name},
                    }
                )
                email_rows.append(
                    {
                        "tenant_id": tenant_id,
                        "user_id": uid,
                        "value": name,
                        "value_ci": name,
                        "type": "work",
                        "primary": True,
                    }
                )
                group_rows.append(
                    {
                        "id": gid,
                        "tenant_id": tenant_id,
                        "display_name": f"Group {i}",
                        "display_name_ci": f"group {i}",
                        "external_id": f"g-{i}",
                        "member_count": 1,
                        "created": when,
                        "last_modified": when,
                        "version": 1,
                        "data": {"displayName": f"Group {i}"},
                    }
                )
                member_rows.append(
                    {
                        "tenant_id": tenant_id,
                        "group_id": gid,
                        "member_id": uid,
                        "member_type": "User",
                    }
                )
            conn.execute(sa.insert(users), user_rows)
            conn.execute(sa.insert(user_emails), email_rows)
            conn.execute(sa.insert(groups), group_rows)
            conn.execute(sa.insert(memberships), member_rows)
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def plans(db: Database, run: Any) -> list[str]:
    """The query plan of every statement `run(conn)` executes."""
    with db.read() as conn, recorded(db) as statements:
        run(conn)
    result = []
    with db.read() as conn:
        if db.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            prefix = "EXPLAIN "
        else:
            prefix = "EXPLAIN QUERY PLAN "
        for sql, params in statements.executed:
            rows = conn.exec_driver_sql(prefix + sql, params).all()
            result.append("\n".join(str(r[-1]) for r in rows))
    return result


USER_FILTERS = [
    ('userName eq "USER17@example.com"', ["uq_users_tenant_user_name_ci"]),
    ('externalId eq "ext-0-17"', ["ix_users_tenant_external_id"]),
    ('emails eq "user17@example.com"', ["ix_user_emails_tenant_value_ci", "uq_users_id"]),
    ('emails.value eq "user17@example.com"', ["ix_user_emails_tenant_value_ci", "uq_users_id"]),
    (
        'emails[type eq "work"].value eq "user17@example.com"',
        ["ix_user_emails_tenant_value_ci", "uq_users_id"],
    ),
    ('meta.lastModified gt "2024-01-03T00:00:00Z"', ["ix_users_tenant_last_modified"]),
    ('id eq "00000000-0000-4000-8000-000000000000"', ["uq_users_id"]),
]


def test_filters_use_indexes(
    db: Database,
    tenant: Tenant,
    other_tenant: Tenant,
    user_store: UserStore,
    group_store: GroupStore,
) -> None:
    load(db, [tenant.id, other_tenant.id])
    with db.read() as conn:
        some = conn.execute(
            sa.select(memberships.c.member_id, memberships.c.group_id).where(
                memberships.c.tenant_id == tenant.id
            )
        ).first()
    assert some is not None
    cases: list[tuple[Any, str, list[str]]] = [
        *((user_store, text, indexes) for text, indexes in USER_FILTERS),
        (group_store, 'displayName eq "GROUP 17"', ["ix_groups_tenant_display_name_ci"]),
        (group_store, 'externalId eq "g-17"', ["ix_groups_tenant_external_id"]),
        (group_store, f'members eq "{some.member_id}"', ["ix_memberships_member"]),
        (user_store, f'groups eq "{some.group_id}"', ["uq_users_id"]),
    ]
    failures = []
    for store, text, indexes in cases:
        f = parse_filter(text)
        found = plans(db, lambda conn, s=store, f=f: s.search(conn, tenant.id, f, None, Page(100)))
        assert len(found) == 2  # COUNT and the page
        for plan in found:
            missing = [i for i in indexes if i not in plan]
            full_scan = "Seq Scan" in plan or any(
                line.strip().startswith("SCAN ") for line in plan.splitlines()
            )
            if missing or full_scan:
                failures.append(f"{text}: missing {missing}\n{plan}")
    assert not failures, "\n\n".join(failures)


def test_the_outbox_queries_use_the_partial_indexes(db: Database, tenant: Tenant) -> None:
    # Migration 0005: events are indexed for the feed only once published; the
    # dispatcher's queue is the partial index over unpublished events.
    from scimhub.db.tables import events
    from scimhub.events import dispatch
    from scimhub.events.feed import read_feed

    now = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        {
            "id": f"evt_{i}",
            "tenant_id": tenant.id,
            "type": "user.created",
            "resource_key": f"User:{i}",
            "occurred_at": now,
            "payload": {"id": f"evt_{i}"},
            "feed_seq": i if i % 10 else None,
        }
        for i in range(1, N + 1)
    ]
    with db.write() as conn:
        conn.execute(sa.insert(events), rows)
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE events")
    published = ("uq_events_feed_seq", "ix_events_tenant_feed_seq")
    cases: list[tuple[str, Any, tuple[str, ...]]] = [
        (
            "pending",
            lambda c: c.execute(dispatch._PENDING.statement).first(),
            ("ix_events_unpublished",),
        ),
        (
            "batch",
            lambda c: c.execute(dispatch._UNPUBLISHED.statement).all(),
            ("ix_events_unpublished",),
        ),
        ("top", lambda c: c.execute(dispatch._TOP.statement).scalar(), ("uq_events_feed_seq",)),
        # Either index over published events serves the feed (one tenant here).
        ("feed", lambda c: read_feed(c, tenant.id, 100, 50), published),
    ]
    failures = []
    for name, run, indexes in cases:
        for plan in plans(db, run):
            # Walking the whole partial index of unpublished events is reading the queue.
            full_scan = "Seq Scan" in plan or any(
                line.strip().startswith("SCAN ") and "ix_events_unpublished" not in line
                for line in plan.splitlines()
            )
            if not any(i in plan for i in indexes) or full_scan:
                failures.append(f"{name}: expected one of {indexes}\n{plan}")
    assert not failures, "\n\n".join(failures)


def test_the_linking_lookup_uses_an_index_in_every_branch(db: Database, tenant: Tenant) -> None:
    # One statement answers all of linking's lookups on a create (lifecycle/linking.py):
    # each branch must be an index lookup, or every create would scan the tenant.
    params = {
        "tenant_id": tenant.id,
        "provider": None,
        "external_id": "ext-1",
        "email": "a@example.com",
        "domain": "example.com",
        "user_name_ci": "a@example.com",
    }
    (plan,) = plans(db, lambda c: c.execute(linking._MATCH.statement, params).all())
    # On empty tables PostgreSQL's planner takes any index led by tenant_id (they cost
    # the same); SQLite names the index each branch will use on a loaded tenant too.
    expected = (
        ()
        if db.dialect == "postgresql"
        else (
            "ix_retained_users_tenant_external_id",
            "ix_user_emails_tenant_value_ci",
            "ix_retained_emails_tenant_value_ci",
            "uq_users_tenant_user_name_ci",
            "ix_retained_users_tenant_user_name_ci",
        )
    )
    for index in expected:
        assert index in plan, plan
    scans = [
        line
        for line in plan.splitlines()
        if "Seq Scan" in line or (line.strip().startswith("SCAN ") and "anon_" not in line)
    ]
    assert not scans, plan
