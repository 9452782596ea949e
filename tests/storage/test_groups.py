"""GroupStore contract: members (add, remove, replace, filter), counts, cycles, deletes,
direct and indirect groups of a user."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from scimhub.db.engine import Database
from scimhub.db.tables import memberships
from scimhub.resources.groups import GroupStore
from scimhub.resources.store import MemberChange, Page, Stored
from scimhub.resources.users import UserStore
from scimhub.scim.errors import InvalidValue
from scimhub.scim.filter import parse_filter
from scimhub.tenancy.tenants import Tenant

from .conftest import recorded


def make_users(db: Database, tenant: Tenant, store: UserStore, *names: str) -> list[Stored]:
    with db.write() as conn:
        return [store.insert(conn, tenant.id, {"userName": n}) for n in names]


def as_member(stored: Stored) -> dict[str, Any]:
    """A member as an IdP sends it: its id and, as `display`, its name."""
    name = stored.data.get("userName") or stored.data["displayName"]
    return {"value": stored.id, "display": name}


def make_group(
    db: Database, tenant: Tenant, store: GroupStore, name: str, *members: Stored
) -> Stored:
    with db.write() as conn:
        return store.insert(conn, tenant.id, {"displayName": name}, [as_member(m) for m in members])


def member_ids(db: Database, tenant: Tenant, store: GroupStore, group: Stored) -> set[str]:
    with db.read() as conn:
        got = store.get(conn, tenant.id, group.id, related=True)
    assert got is not None and got.members is not None
    assert got.member_count == len(got.members)
    return {m["value"] for m in got.members}


def change(
    db: Database, tenant: Tenant, store: GroupStore, group: Stored, *changes: MemberChange
) -> Stored:
    with db.read() as conn:
        current = store.get(conn, tenant.id, group.id)
    assert current is not None
    with db.write() as conn:
        updated = store.update(
            conn,
            tenant.id,
            group.id,
            current.data,
            expected_version=current.version,
            member_changes=list(changes),
        )
    assert updated is not None
    return updated


def test_insert_with_members(
    db: Database, tenant: Tenant, user_store: UserStore, group_store: GroupStore
) -> None:
    with db.write() as conn:
        ann = user_store.insert(conn, tenant.id, {"userName": "ann", "displayName": "Ann A"})
        bob = user_store.insert(conn, tenant.id, {"userName": "bob"})
        sub = group_store.insert(conn, tenant.id, {"displayName": "Sub"}, [])
        # The type a client gives is not trusted: it comes from where the id is.
        group = group_store.insert(
            conn,
            tenant.id,
            {"displayName": "Eng", "externalId": "e-1"},
            [
                {"value": ann.id, "type": "Group", "display": "Ann A"},
                {"value": bob.id},
                {"value": sub.id, "display": "Subgroup"},
                {"value": bob.id},
            ],
        )
    assert group.member_count == 3 and group.version == 1 and group.members is None
    with db.read() as conn:
        got = group_store.get(conn, tenant.id, group.id, related=True)
        plain = group_store.get(conn, tenant.id, group.id)
    assert got is not None and plain is not None
    assert plain.members is None and plain.member_count == 3
    assert got.data == {"displayName": "Eng", "externalId": "e-1"}
    # `display` is what the client sent, never derived (none sent for bob).
    expected = [
        {"value": ann.id, "type": "User", "display": "Ann A"},
        {"value": bob.id, "type": "User"},
        {"value": sub.id, "type": "Group", "display": "Subgroup"},
    ]
    assert got.members == sorted(expected, key=lambda m: m["value"])


@pytest.mark.parametrize("where", ["unknown", "other tenant", "nul"])
def test_unknown_member_refused(
    db: Database,
    tenant: Tenant,
    other_tenant: Tenant,
    user_store: UserStore,
    group_store: GroupStore,
    where: str,
) -> None:
    (ann,) = make_users(db, tenant, user_store, "ann")
    (stranger,) = make_users(db, other_tenant, user_store, "stranger")
    bad = {
        "unknown": "0f0f0f0f-0000-4000-8000-000000000000",
        "other tenant": stranger.id,
        "nul": "a\x00b",
    }[where]
    with pytest.raises(InvalidValue, match=re.escape(bad)), db.write() as conn:
        group_store.insert(
            conn, tenant.id, {"displayName": "G"}, [{"value": ann.id}, {"value": bad}]
        )
    group = make_group(db, tenant, group_store, "G", ann)
    with pytest.raises(InvalidValue):
        change(db, tenant, group_store, group, MemberChange("add", ({"value": bad},)))
    with pytest.raises(InvalidValue):
        change(db, tenant, group_store, group, MemberChange("replace", ({"value": bad},)))
    # Nothing changed (the transaction rolled back).
    with db.read() as conn:
        found = group_store.search(conn, tenant.id, None, None, Page(10))
        assert [g.id for g in found.items] == [group.id]
        got = group_store.get(conn, tenant.id, group.id)
        assert got is not None and got.version == 1
    assert member_ids(db, tenant, group_store, group) == {ann.id}


def test_member_changes_in_order(
    db: Database, tenant: Tenant, user_store: UserStore, group_store: GroupStore
) -> None:
    a, b, c, d = make_users(db, tenant, user_store, "a", "b", "c", "d")
    group = make_group(db, tenant, group_store, "G", a, b)

    def v(*users: Stored) -> tuple[dict[str, Any], ...]:
        return tuple(as_member(u) for u in users)

    # Adding an existing member and removing an absent one are no-ops.
    updated = change(
        db,
        tenant,
        group_store,
        group,
        MemberChange("add", v(a, c)),
        MemberChange("remove", v(d)),
    )
    assert updated.version == 2 and updated.member_count == 3
    assert member_ids(db, tenant, group_store, group) == {a.id, b.id, c.id}

    updated = change(
        db,
        tenant,
        group_store,
        group,
        MemberChange("remove", v(a, b)),
        MemberChange("add", v(d, a)),
    )
    assert updated.member_count == 3
    assert member_ids(db, tenant, group_store, group) == {a.id, c.id, d.id}

    updated = change(
        db,
        tenant,
        group_store,
        group,
        MemberChange("remove", filter=parse_filter(f'value eq "{c.id}" or display eq "D"')),
    )
    assert member_ids(db, tenant, group_store, group) == {a.id}

    updated = change(db, tenant, group_store, group, MemberChange("replace", v(b, c)))
    assert updated.member_count == 2
    assert member_ids(db, tenant, group_store, group) == {b.id, c.id}

    updated = change(
        db,
        tenant,
        group_store,
        group,
        MemberChange("remove", filter=parse_filter('type eq "user" and not (display sw "b")')),
    )
    assert member_ids(db, tenant, group_store, group) == {b.id}

    updated = change(db, tenant, group_store, group, MemberChange("remove"))
    assert updated.member_count == 0 and updated.version == 7
    assert member_ids(db, tenant, group_store, group) == set()


def test_update_version_mismatch_changes_nothing(
    db: Database, tenant: Tenant, user_store: UserStore, group_store: GroupStore
) -> None:
    a, b = make_users(db, tenant, user_store, "a", "b")
    group = make_group(db, tenant, group_store, "G", a)
    with db.write() as conn:
        result = group_store.update(
            conn,
            tenant.id,
            group.id,
            {"displayName": "X"},
            expected_version=5,
            member_changes=[MemberChange("add", ({"value": b.id},))],
        )
    assert result is None
    assert member_ids(db, tenant, group_store, group) == {a.id}


def test_cycles_refused(db: Database, tenant: Tenant, group_store: GroupStore) -> None:
    top = make_group(db, tenant, group_store, "top")
    mid = make_group(db, tenant, group_store, "mid")
    change(db, tenant, group_store, top, MemberChange("add", ({"value": mid.id},)))
    low = make_group(db, tenant, group_store, "low")
    change(db, tenant, group_store, mid, MemberChange("add", ({"value": low.id},)))
    for group, member in ((top, top), (mid, top), (low, top), (low, mid)):
        with pytest.raises(InvalidValue, match=r"itself|cycle"):
            change(db, tenant, group_store, group, MemberChange("add", ({"value": member.id},)))
        with pytest.raises(InvalidValue, match=r"itself|cycle"):
            change(db, tenant, group_store, group, MemberChange("replace", ({"value": member.id},)))
    # Not a cycle: a diamond.
    change(db, tenant, group_store, top, MemberChange("add", ({"value": low.id},)))
    assert member_ids(db, tenant, group_store, top) == {mid.id, low.id}
    assert member_ids(db, tenant, group_store, low) == set()


def test_load_groups_direct_and_indirect(
    db: Database, tenant: Tenant, user_store: UserStore, group_store: GroupStore
) -> None:
    (ann,) = make_users(db, tenant, user_store, "ann")
    low = make_group(db, tenant, group_store, "Low", ann)
    mid = make_group(db, tenant, group_store, "Mid", low)
    top = make_group(db, tenant, group_store, "Top", mid, ann)  # direct and indirect
    make_group(db, tenant, group_store, "Unrelated")
    expected = [
        {"value": low.id, "display": "Low", "type": "direct"},
        {"value": mid.id, "display": "Mid", "type": "indirect"},
        {"value": top.id, "display": "Top", "type": "direct"},
    ]
    with db.read() as conn:
        assert user_store.load_related(conn, tenant.id, [ann.id])[ann.id] == expected
        got = user_store.get(conn, tenant.id, ann.id, related=True)
        assert got is not None and got.groups == expected
        page = user_store.search(conn, tenant.id, None, None, Page(10), related=True)
        assert page.items[0].groups == expected


def test_user_delete_leaves_groups(
    db: Database, tenant: Tenant, user_store: UserStore, group_store: GroupStore
) -> None:
    ann, bob = make_users(db, tenant, user_store, "ann", "bob")
    group = make_group(db, tenant, group_store, "G", ann, bob)
    with db.write() as conn:
        assert user_store.delete(conn, tenant.id, ann.id)
    with db.read() as conn:
        got = group_store.get(conn, tenant.id, group.id, related=True)
    assert got is not None and got.members is not None
    assert [m["value"] for m in got.members] == [bob.id] and got.member_count == 1
    # The group's representation changed: new version, new lastModified.
    assert got.version == 2 and got.last_modified > group.last_modified


def test_group_delete(
    db: Database, tenant: Tenant, user_store: UserStore, group_store: GroupStore
) -> None:
    (ann,) = make_users(db, tenant, user_store, "ann")
    low = make_group(db, tenant, group_store, "Low", ann)
    top = make_group(db, tenant, group_store, "Top", low, ann)
    with db.write() as conn:
        assert group_store.delete(conn, tenant.id, low.id)
        assert not group_store.delete(conn, tenant.id, low.id)
        rows = conn.execute(sa.select(memberships.c.group_id, memberships.c.member_id)).all()
    assert [tuple(r) for r in rows] == [(top.id, ann.id)]
    with db.read() as conn:
        got = group_store.get(conn, tenant.id, top.id)
        assert got is not None and got.member_count == 1 and got.version == 2
        assert user_store.load_related(conn, tenant.id, [ann.id])[ann.id] == [
            {"value": top.id, "display": "Top", "type": "direct"}
        ]


def test_search_with_members_is_one_query(
    db: Database, tenant: Tenant, user_store: UserStore, group_store: GroupStore
) -> None:
    users = make_users(db, tenant, user_store, *[f"u{i}" for i in range(6)])
    groups = [make_group(db, tenant, group_store, f"g{i}", *users[i:]) for i in range(5)]
    with db.read() as conn, recorded(db) as statements:
        found = group_store.search(conn, tenant.id, None, None, Page(10), related=True)
    assert len(statements) == 3  # count, page, members of the page
    assert [g.id for g in found.items] == [g.id for g in groups]
    assert [len(g.members or []) for g in found.items] == [6, 5, 4, 3, 2]


@pytest.mark.parametrize("size", [10, 300])
def test_member_patch_cost_does_not_grow(
    db: Database, tenant: Tenant, user_store: UserStore, group_store: GroupStore, size: int
) -> None:
    users = make_users(db, tenant, user_store, *[f"u{i}" for i in range(size + 1)])
    group = make_group(db, tenant, group_store, "G", *users[:size])
    newcomer, old = users[size], users[0]
    with db.write() as conn, recorded(db) as statements:
        updated = group_store.update(
            conn,
            tenant.id,
            group.id,
            {"displayName": "G"},
            expected_version=1,
            member_changes=[
                MemberChange("add", ({"value": newcomer.id},)),
                MemberChange("remove", filter=parse_filter(f'value eq "{old.id}"')),
            ],
        )
    assert updated is not None and updated.member_count == size
    # The same statements whatever the size, none of them reading the member list:
    # conditional UPDATE, member lookup, INSERT, DELETE (the count is unchanged).
    assert len(statements) == 4
    for sql, _ in statements.executed:
        assert "count(" not in sql.lower()


def assert_members_filter(
    db: Database, tenant: Tenant, store: GroupStore, text: str, expected: list[Any]
) -> None:
    with db.read() as conn:
        found = store.search(conn, tenant.id, parse_filter(text), None, Page(10))
    assert [g.data["displayName"] for g in found.items] == expected, text


def test_group_filters(
    db: Database, tenant: Tenant, user_store: UserStore, group_store: GroupStore
) -> None:
    ann, bob = make_users(db, tenant, user_store, "ann", "bob")
    low = make_group(db, tenant, group_store, "Low", ann)
    make_group(db, tenant, group_store, "Top", low, bob)
    make_group(db, tenant, group_store, "Empty")
    cases = [
        (f'members eq "{ann.id}"', ["Low"]),
        (f'members.value eq "{bob.id}"', ["Top"]),
        (f'members[value eq "{low.id}"]', ["Top"]),
        (f'id eq "{low.id}" and members eq "{ann.id}"', ["Low"]),
        ('members.type eq "group"', ["Top"]),
        ('members[type eq "User" and display eq "BOB"]', ["Top"]),
        ('members.display sw "lo"', ["Top"]),
        ("members pr", ["Low", "Top"]),
        ("members eq null", ["Empty"]),
        (f'members ne "{ann.id}"', ["Top", "Empty"]),
        ('displayName eq "low"', ["Low"]),
        ('displayName gt "low"', ["Top"]),
        ('meta.resourceType eq "Group"', ["Low", "Top", "Empty"]),
    ]
    for text, expected in cases:
        assert_members_filter(db, tenant, group_store, text, expected)
