"""Sorting (RFC 7644 §3.4.2.3), index paging and keyset paging (§3.4.2.4, RFC 9865)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scimhub.db.engine import Database
from scimhub.resources.groups import GroupStore
from scimhub.resources.store import Page, SearchResult, Sort
from scimhub.resources.users import UserStore
from scimhub.scim.errors import InvalidCursor, InvalidFilter
from scimhub.scim.filter import Filter, parse_attr_path, parse_filter
from scimhub.tenancy.tenants import Tenant

USERS: list[dict[str, Any]] = [
    {
        "userName": "delta",
        "name": {"givenName": "b"},
        "active": True,
        "emails": [{"value": "z@x"}, {"value": "c@x", "primary": True}],
    },
    {"userName": "Alpha", "externalId": "E2", "active": False, "emails": [{"value": "b@x"}]},
    {
        "userName": "charlie",
        "name": {"givenName": "A"},
        "externalId": "e1",
        "emails": [{"value": "a@x"}, {"value": "d@x"}],
    },
    {"userName": "Bravo", "name": {"givenName": "c"}, "active": True},
    {"userName": "echo", "name": {"givenName": "B"}},
]


@pytest.fixture
def people(db: Database, tenant: Tenant, user_store: UserStore) -> None:
    with db.write() as conn:
        for user in USERS:
            user_store.insert(conn, tenant.id, user)


def search(
    db: Database,
    tenant: Tenant,
    store: UserStore,
    sort: str | None = None,
    descending: bool = False,
    page: Page | None = None,
    f: Filter | None = None,
) -> SearchResult:
    order = Sort(parse_attr_path(sort), descending) if sort else None
    with db.read() as conn:
        return store.search(conn, tenant.id, f, order, page or Page(100))


def names(result: SearchResult) -> list[str]:
    return [s.data["userName"] for s in result.items]


@pytest.mark.parametrize(
    ("sort", "ascending"),
    [
        (None, ["delta", "Alpha", "charlie", "Bravo", "echo"]),  # insertion order
        ("userName", ["Alpha", "Bravo", "charlie", "delta", "echo"]),  # case-insensitive
        # Missing values last ascending, first descending (RFC 7644 §3.4.2.3); ties in
        # insertion order.
        ("name.givenName", ["charlie", "delta", "echo", "Bravo", "Alpha"]),
        ("externalId", ["Alpha", "charlie", "delta", "Bravo", "echo"]),  # caseExact: E < e
        ("active", ["Alpha", "delta", "Bravo", "charlie", "echo"]),
        # Multi-valued: the primary value, else the first.
        ("emails", ["charlie", "Alpha", "delta", "Bravo", "echo"]),
        ("emails.value", ["charlie", "Alpha", "delta", "Bravo", "echo"]),
        ("meta.created", ["delta", "Alpha", "charlie", "Bravo", "echo"]),
        ("meta.lastModified", ["delta", "Alpha", "charlie", "Bravo", "echo"]),
        ("meta.resourceType", ["delta", "Alpha", "charlie", "Bravo", "echo"]),
        ("USERNAME", ["Alpha", "Bravo", "charlie", "delta", "echo"]),
    ],
)
def test_sort(
    db: Database,
    tenant: Tenant,
    user_store: UserStore,
    people: None,
    sort: str | None,
    ascending: list[str],
) -> None:
    assert names(search(db, tenant, user_store, sort)) == ascending
    orders = [(False, ascending)]
    if sort is not None:
        # Descending is the exact reverse (missing values first).
        assert names(search(db, tenant, user_store, sort, descending=True)) == ascending[::-1]
        orders.append((True, ascending[::-1]))
    # Keyset paging two by two gives the same order.
    for descending, expected in orders:
        seen: list[str] = []
        after = None
        while True:
            result = search(
                db, tenant, user_store, sort, descending, Page(2, after=after, count_total=False)
            )
            seen += names(result)
            assert result.total is None
            if not result.has_more:
                break
            assert result.last_key is not None
            after = tuple(json.loads(json.dumps(result.last_key)))  # as a cursor carries it
        assert seen == expected


@pytest.mark.parametrize("sort", ["password", "groups", "meta", "members", "name", "foo"])
def test_unsortable(
    db: Database, tenant: Tenant, user_store: UserStore, people: None, sort: str
) -> None:
    with pytest.raises(InvalidFilter):
        search(db, tenant, user_store, sort)


def test_index_paging(db: Database, tenant: Tenant, user_store: UserStore, people: None) -> None:
    first = search(db, tenant, user_store, "userName", page=Page(2))
    assert names(first) == ["Alpha", "Bravo"] and first.total == 5 and first.has_more
    middle = search(db, tenant, user_store, "userName", page=Page(2, offset=2))
    assert names(middle) == ["charlie", "delta"] and middle.has_more
    last = search(db, tenant, user_store, "userName", page=Page(2, offset=4))
    assert names(last) == ["echo"] and not last.has_more
    beyond = search(db, tenant, user_store, page=Page(2, offset=10))
    assert beyond.items == [] and beyond.total == 5 and beyond.last_key is None
    nothing = search(db, tenant, user_store, page=Page(0))
    assert nothing.items == [] and nothing.total == 5 and nothing.has_more
    filtered = search(db, tenant, user_store, page=Page(1), f=parse_filter("active eq true"))
    assert names(filtered) == ["delta"] and filtered.total == 2 and filtered.has_more


@pytest.mark.parametrize("sort", [None, "userName", "meta.lastModified", "name.givenName"])
def test_keyset_paging_while_inserting(
    db: Database, tenant: Tenant, user_store: UserStore, sort: str | None
) -> None:
    with db.write() as conn:
        for i in range(30):
            given = {"name": {"givenName": f"g{i % 7}"}} if i % 3 else {}
            user_store.insert(conn, tenant.id, {"userName": f"u{i:03}", **given})
    before = {s.data["userName"] for s in search(db, tenant, user_store).items}
    seen: list[str] = []
    after = None
    for round in range(100):
        result = search(db, tenant, user_store, sort, page=Page(4, after=after))
        seen += names(result)
        with db.write() as conn:  # another client writes between pages
            user_store.insert(conn, tenant.id, {"userName": f"new{round:03}"})
        if not result.has_more:
            break
        after = result.last_key
    assert len(seen) == len(set(seen))  # nothing twice
    assert before <= set(seen)  # nothing that was there is skipped


def test_bad_cursor(db: Database, tenant: Tenant, user_store: UserStore, people: None) -> None:
    for sort, after in (
        (None, ("x",)),
        (None, (1, 2)),
        ("userName", (1,)),
        ("meta.created", ("not a date", 3)),
    ):
        with pytest.raises(InvalidCursor):
            search(db, tenant, user_store, sort, page=Page(2, after=after))


def test_group_sort_and_paging(db: Database, tenant: Tenant, group_store: GroupStore) -> None:
    with db.write() as conn:
        for name in ("beta", "Alpha", "gamma"):
            group_store.insert(conn, tenant.id, {"displayName": name}, [])
    with db.read() as conn:
        result = group_store.search(
            conn, tenant.id, None, Sort(parse_attr_path("displayName")), Page(2)
        )
        assert [g.data["displayName"] for g in result.items] == ["Alpha", "beta"]
        rest = group_store.search(
            conn,
            tenant.id,
            None,
            Sort(parse_attr_path("displayName")),
            Page(2, after=result.last_key),
        )
        assert [g.data["displayName"] for g in rest.items] == ["gamma"] and not rest.has_more
