"""db/prepared.py: statements sent straight to the driver behave as through SQLAlchemy,
and db/engine.py's request transaction: one transaction per request, shared."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from scimhub.db.engine import Database
from scimhub.db.prepared import Prepared
from scimhub.db.tables import users
from scimhub.tenancy.tenants import Tenant

KEYS = (
    *("id", "tenant_id", "created", "last_modified", "version"),
    *("user_name", "user_name_ci", "external_id", "active", "data"),
)
INSERT = Prepared(sa.insert(users), keys=KEYS)
BY_ID = Prepared(
    sa.select(users.c.id, users.c.created, users.c.active, users.c.data, users.c.external_id).where(
        users.c.tenant_id == sa.bindparam("tenant_id"), users.c.id == sa.bindparam("id")
    )
)
MOMENT = datetime(2026, 11, 23, 4, 5, 6, 789012, tzinfo=UTC)


def _row(tenant: Tenant, id: str, name: str) -> dict[str, object]:
    return {
        "id": id,
        "tenant_id": tenant.id,
        "created": MOMENT,
        "last_modified": MOMENT,
        "version": 1,
        "user_name": name,
        "user_name_ci": name.lower(),
        "external_id": None,
        "active": False,
        "data": {"userName": name, "name": {"givenName": "Ada"}, "x": [1, True, None]},
    }


def test_values_round_trip_as_through_sqlalchemy(db: Database, tenant: Tenant) -> None:
    with db.write() as conn:
        INSERT.execute(conn, _row(tenant, "u1", "Ada"))
        # Read back both ways, in the same transaction.
        fast = BY_ID.first(conn, {"tenant_id": tenant.id, "id": "u1"})
        slow = conn.execute(BY_ID.statement, {"tenant_id": tenant.id, "id": "u1"}).one()
    assert tuple(fast) == tuple(slow)
    assert fast.created == MOMENT and fast.created.tzinfo is not None
    assert fast.active is False and fast.external_id is None
    assert fast.data == {"userName": "Ada", "name": {"givenName": "Ada"}, "x": [1, True, None]}
    with db.read() as conn:
        assert BY_ID.first(conn, {"tenant_id": tenant.id, "id": "nobody"}) is None


def test_a_rolled_back_transaction_keeps_nothing(db: Database, tenant: Tenant) -> None:
    with pytest.raises(RuntimeError), db.write() as conn:
        INSERT.execute(conn, _row(tenant, "u1", "Ada"))
        raise RuntimeError("the request failed")
    with db.read() as conn:
        assert BY_ID.first(conn, {"tenant_id": tenant.id, "id": "u1"}) is None


def test_driver_errors_come_out_as_sqlalchemy_errors(db: Database, tenant: Tenant) -> None:
    with db.write() as conn:
        INSERT.execute(conn, _row(tenant, "u1", "Ada"))
    with pytest.raises(IntegrityError) as caught, db.write() as conn:
        INSERT.execute(conn, _row(tenant, "u2", "ADA"))  # same userName, folded
    assert "user_name_ci" in str(caught.value.orig) or "uq_users" in str(caught.value.orig)


def test_executemany_inserts_every_row(db: Database, tenant: Tenant) -> None:
    with db.write() as conn:
        INSERT.executemany(conn, [_row(tenant, f"u{i}", f"user{i}") for i in range(5)])
        count = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
    assert count == 5


def test_a_request_transaction_is_shared_by_the_blocks_inside_it(
    db: Database, tenant: Tenant
) -> None:
    with db.request(write=True) as outer:
        with db.read() as inner:
            assert inner is outer
        with db.write() as inner:
            assert inner is outer
            INSERT.execute(inner, _row(tenant, "u1", "Ada"))
    with db.read() as conn:
        assert BY_ID.first(conn, {"tenant_id": tenant.id, "id": "u1"}) is not None


def test_a_failed_request_transaction_changes_nothing(db: Database, tenant: Tenant) -> None:
    with pytest.raises(RuntimeError), db.request(write=True):
        with db.write() as conn:
            INSERT.execute(conn, _row(tenant, "u1", "Ada"))
        raise RuntimeError("a later step failed")
    with db.read() as conn:
        assert BY_ID.first(conn, {"tenant_id": tenant.id, "id": "u1"}) is None


def test_a_read_request_refuses_writes_and_nesting(db: Database) -> None:
    with db.request(write=False):
        with pytest.raises(RuntimeError), db.write():
            pass
        with pytest.raises(RuntimeError), db.request(write=False):
            pass


def test_concurrent_writers_of_one_process_all_succeed(db: Database, tenant: Tenant) -> None:
    # On SQLite, threads queue on the process's write lock instead of SQLite's busy
    # handler; on PostgreSQL they run concurrently. Either way every insert lands.
    errors: list[BaseException] = []

    def insert(n: int) -> None:
        try:
            for k in range(20):
                with db.request(write=True), db.write() as conn:
                    INSERT.execute(conn, _row(tenant, f"t{n}-{k}", f"t{n}-{k}"))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=insert, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
    assert count == 120


def test_all_returns_every_row_with_processed_values(db: Database, tenant: Tenant) -> None:
    every = Prepared(
        sa.select(users.c.id, users.c.created)
        .where(users.c.tenant_id == sa.bindparam("tenant_id"))
        .order_by(users.c.id)
        .limit(2)  # a bind with its own value, sent with the others
    )
    with db.write() as conn:
        INSERT.executemany(conn, [_row(tenant, f"u{i}", f"user{i}") for i in range(3)])
        rows = every.all(conn, {"tenant_id": tenant.id})
    assert [r.id for r in rows] == ["u0", "u1"]
    assert all(r.created == MOMENT for r in rows)
