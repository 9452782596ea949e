"""UserStore contract: CRUD, uniqueness, conditional updates, tenant isolation."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from scimhub.db.engine import Database
from scimhub.db.tables import user_emails
from scimhub.resources.store import Page
from scimhub.resources.users import UserStore
from scimhub.scim.errors import InvalidFilter, InvalidValue, Uniqueness
from scimhub.scim.filter import parse_filter
from scimhub.scim.schema import ENTERPRISE_USER_URN
from scimhub.tenancy.tenants import Tenant

ALICE: dict[str, Any] = {
    "userName": "Alice@Example.com",
    "displayName": "Alice Ängström",
    "active": True,
    "name": {"givenName": "Alice", "familyName": "Ängström"},
    "emails": [{"value": "Alice@Example.com", "type": "work", "primary": True}],
    ENTERPRISE_USER_URN: {"department": "R&D", "manager": {"value": "m-1"}},
}


def names(store: UserStore, db: Database, tenant: Tenant, text: str) -> list[str]:
    with db.read() as conn:
        found = store.search(conn, tenant.id, parse_filter(text), None, Page(100))
    return [s.data["userName"] for s in found.items]


def test_insert_and_get(db: Database, tenant: Tenant, user_store: UserStore) -> None:
    before = datetime.now(UTC)
    with db.write() as conn:
        stored = user_store.insert(conn, tenant.id, ALICE)
    assert stored.version == 1 and stored.data == ALICE
    assert stored.created == stored.last_modified and stored.created >= before
    with db.read() as conn:
        got = user_store.get(conn, tenant.id, stored.id)
    assert got is not None
    assert got.data == ALICE  # case and non-ASCII preserved
    assert got.created == stored.created  # microseconds kept
    assert got.created.utcoffset() == timedelta(0)  # tz-aware UTC
    assert (got.id, got.version, got.groups) == (stored.id, 1, None)


def test_get_unknown(db: Database, tenant: Tenant, user_store: UserStore) -> None:
    with db.read() as conn:
        assert user_store.get(conn, tenant.id, "00919288221112222") is None


def test_user_name_unique_case_insensitively(
    db: Database, tenant: Tenant, other_tenant: Tenant, user_store: UserStore
) -> None:
    with db.write() as conn:
        user_store.insert(conn, tenant.id, {"userName": "Alice"})
    with pytest.raises(Uniqueness), db.write() as conn:
        user_store.insert(conn, tenant.id, {"userName": "aLICE"})
    with db.write() as conn:  # another tenant may have the same userName
        user_store.insert(conn, other_tenant.id, {"userName": "alice"})
    assert names(user_store, db, tenant, 'userName eq "ALICE"') == ["Alice"]


def test_insert_race_maps_integrity_error(
    db: Database, tenant: Tenant, user_store: UserStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.write() as conn:
        user_store.insert(conn, tenant.id, {"userName": "alice"})
    # As if a concurrent transaction inserted between the check and the INSERT.
    monkeypatch.setattr(UserStore, "_check_user_name", lambda *a: None)
    with pytest.raises(Uniqueness), db.write() as conn:
        user_store.insert(conn, tenant.id, {"userName": "ALICE"})


def test_update(db: Database, tenant: Tenant, user_store: UserStore) -> None:
    with db.write() as conn:
        stored = user_store.insert(conn, tenant.id, ALICE)
    new = {**ALICE, "userName": "alice2", "emails": [{"value": "new@example.com"}]}
    with db.write() as conn:
        updated = user_store.update(conn, tenant.id, stored.id, new, expected_version=1)
    assert updated is not None
    assert updated.version == 2 and updated.created == stored.created
    assert updated.last_modified > stored.last_modified
    with db.read() as conn:
        got = user_store.get(conn, tenant.id, stored.id)
    assert got is not None and got.data == new and got.version == 2
    assert got.last_modified == updated.last_modified
    # The email mirror follows.
    assert names(user_store, db, tenant, 'emails eq "alice@example.com"') == []
    assert names(user_store, db, tenant, 'emails.value eq "NEW@example.com"') == ["alice2"]


def test_update_version_and_id_must_match(
    db: Database, tenant: Tenant, user_store: UserStore
) -> None:
    with db.write() as conn:
        stored = user_store.insert(conn, tenant.id, ALICE)
        assert user_store.update(conn, tenant.id, stored.id, ALICE, expected_version=2) is None
        assert user_store.update(conn, tenant.id, "nope", ALICE, expected_version=1) is None
        got = user_store.get(conn, tenant.id, stored.id)
        assert got is not None and got.version == 1


def test_update_user_name_clash(db: Database, tenant: Tenant, user_store: UserStore) -> None:
    with db.write() as conn:
        user_store.insert(conn, tenant.id, {"userName": "bob"})
        alice = user_store.insert(conn, tenant.id, {"userName": "alice"})
        # Changing the case of one's own userName is fine.
        assert user_store.update(
            conn, tenant.id, alice.id, {"userName": "ALICE"}, expected_version=1
        )
    with pytest.raises(Uniqueness), db.write() as conn:
        user_store.update(conn, tenant.id, alice.id, {"userName": "Bob"}, expected_version=2)


def test_two_writers_one_wins(db: Database, tenant: Tenant, user_store: UserStore) -> None:
    with db.write() as conn:
        stored = user_store.insert(conn, tenant.id, {"userName": "alice"})
    first_updated = threading.Event()
    results: dict[str, Any] = {}

    def writer(name: str, wait: bool) -> None:
        if wait:
            first_updated.wait(5)
        with db.write() as conn:
            data = {"userName": "alice", "displayName": name}
            results[name] = user_store.update(conn, tenant.id, stored.id, data, expected_version=1)
            if not wait:
                first_updated.set()
                time.sleep(0.3)  # hold the transaction (and its locks) open a while

    threads = [
        threading.Thread(target=writer, args=("a", False)),
        threading.Thread(target=writer, args=("b", True)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results["a"] is not None and results["a"].version == 2
    assert results["b"] is None
    with db.read() as conn:
        got = user_store.get(conn, tenant.id, stored.id)
    assert got is not None and got.version == 2 and got.data["displayName"] == "a"


def test_delete(db: Database, tenant: Tenant, user_store: UserStore) -> None:
    with db.write() as conn:
        stored = user_store.insert(conn, tenant.id, ALICE)
    with db.write() as conn:
        assert user_store.delete(conn, tenant.id, stored.id) is True
        assert user_store.delete(conn, tenant.id, stored.id) is False
        assert user_store.get(conn, tenant.id, stored.id) is None
        left = conn.execute(sa.select(sa.func.count()).select_from(user_emails)).scalar()
        assert left == 0


def test_tenant_isolation(
    db: Database, tenant: Tenant, other_tenant: Tenant, user_store: UserStore
) -> None:
    with db.write() as conn:
        theirs = user_store.insert(conn, other_tenant.id, ALICE)
        ours = user_store.insert(conn, tenant.id, {"userName": "bob"})
    with db.write() as conn:
        assert user_store.get(conn, tenant.id, theirs.id) is None
        assert user_store.update(conn, tenant.id, theirs.id, ALICE, expected_version=1) is None
        assert user_store.delete(conn, tenant.id, theirs.id) is False
        found = user_store.search(conn, tenant.id, None, None, Page(10))
        assert [s.id for s in found.items] == [ours.id] and found.total == 1
    for text in (
        f'id eq "{theirs.id}"',
        'userName eq "alice@example.com"',
        'emails eq "alice@example.com"',
        'emails[type eq "work"].value eq "alice@example.com"',
        "displayName pr",
    ):
        assert names(user_store, db, tenant, text) == [], text
    with db.read() as conn:
        assert user_store.get(conn, other_tenant.id, theirs.id) is not None


def test_nul_characters(db: Database, tenant: Tenant, user_store: UserStore) -> None:
    """PostgreSQL text cannot hold U+0000: such ids name nothing, such values are refused
    (400), on both backends alike."""
    bad = "a\x00b"
    with db.write() as conn:
        stored = user_store.insert(conn, tenant.id, {"userName": "alice"})
        assert user_store.get(conn, tenant.id, bad) is None
        assert (
            user_store.update(conn, tenant.id, bad, {"userName": "x"}, expected_version=1) is None
        )
        assert user_store.delete(conn, tenant.id, bad) is False
        assert user_store.load_related(conn, tenant.id, [bad])[bad] == []
    for data in (
        {"userName": bad},
        {"userName": "b", "name": {"givenName": bad}},
        {"userName": "c", bad: 1},
    ):
        with pytest.raises(InvalidValue), db.write() as conn:
            user_store.insert(conn, tenant.id, data)
        with pytest.raises(InvalidValue), db.write() as conn:
            user_store.update(conn, tenant.id, stored.id, data, expected_version=1)
    with pytest.raises(InvalidFilter):
        names(user_store, db, tenant, 'userName eq "a\\u0000b"')
