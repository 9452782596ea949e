"""Every filter operator and form against known data (RFC 7644 §3.4.2.2, with the
semantics of docs/architecture.md), on both backends; `not(f)` is always the exact
complement of `f`."""

from __future__ import annotations

from typing import Any

import pytest

from scimhub.db.engine import Database
from scimhub.resources.store import Page, Stored
from scimhub.resources.users import UserStore
from scimhub.scim.errors import InvalidFilter
from scimhub.scim.filter import Not, parse_filter
from scimhub.scim.schema import ENTERPRISE_USER_URN
from scimhub.tenancy.tenants import Tenant

ENT = ENTERPRISE_USER_URN

USERS: list[dict[str, Any]] = [
    {
        "userName": "Alice",
        "displayName": "Alice Ängström",
        "active": True,
        "externalId": "ext-1",
        "title": "Engineer",
        "name": {"givenName": "Alice", "familyName": "Smith"},
        "emails": [
            {"value": "alice@work.com", "type": "work", "primary": True},
            {"value": "alice@home.org", "type": "home"},
        ],
        "addresses": [{"type": "work", "locality": "Paris", "primary": True}],
        ENT: {"department": "R&D", "manager": {"value": "m-1"}},
    },
    {
        "userName": "bob",
        "active": False,
        "externalId": "EXT-2",
        "title": "50%_off/sale",
        "name": {"givenName": "Bob"},
        "emails": [{"value": "bob@work.com", "type": "work"}],
    },
    {
        "userName": "Carol",
        "nickName": "Caz",
        "emails": [{"value": "carol@x.com"}],
        ENT: {"department": "Sales"},
    },
    {"userName": "dave_x", "displayName": "dave", "active": True},
    {
        "userName": "Eve%",
        "emails": [{"value": "EVE@Work.com", "type": "Work"}],
        "roles": [{"value": "admin", "primary": True}, {"value": "dev"}],
        "x509Certificates": [{"value": "MIIB"}],
    },
]
A, B, C, D, E = (u["userName"] for u in USERS)
ALL = {A, B, C, D, E}

CASES: list[tuple[str, set[str]]] = [
    ('userName eq "alice"', {A}),
    ('userName eq "ALICE"', {A}),
    ('USERNAME Eq "Bob"', {B}),
    ('userName ne "alice"', ALL - {A}),
    ('userName co "a"', {A, C, D}),
    ('userName sw "EVE%"', {E}),
    ('userName sw "eve_"', set()),
    ('userName co "_"', {D}),
    ('userName co "%"', {E}),
    ('userName ew "X"', {D}),
    ('userName gt "carol"', {D, E}),
    ('userName ge "carol"', {C, D, E}),
    ('userName lt "bob"', {A}),
    ('userName le "bob"', {A, B}),
    ('externalId eq "ext-1"', {A}),
    ('externalId eq "EXT-1"', set()),  # caseExact
    ("externalId pr", {A, B}),
    ("externalId eq null", {C, D, E}),
    ("externalId ne null", {A, B}),
    ('externalId ne "ext-1"', ALL - {A}),
    ('externalId sw "EXT"', {B}),
    ('externalId gt "ext"', {A}),  # code point order: "E" < "e"
    ('displayName eq "alice ängström"', {A}),  # Unicode case folding
    ('displayName co "ÄNG"', {A}),
    ("displayName pr", {A, D}),
    ("not (displayName pr)", {B, C, E}),
    ("active eq true", {A, D}),
    ("active eq false", {B}),
    ("active ne true", {B, C, E}),
    ("active pr", {A, B, D}),
    ('active eq "True"', {A, D}),
    ('title co "%_"', {B}),
    ('title ew "/sale"', {B}),
    ('name.givenName sw "a"', {A}),
    ('name.familyName eq "smith"', {A}),
    ("name pr", {A, B}),
    ('name[givenName eq "bob"]', {B}),
    ('emails eq "alice@home.org"', {A}),
    ('emails.value eq "EVE@work.COM"', {E}),
    ('emails[type eq "work"].value eq "bob@work.com"', {B}),
    ('emails[type eq "work" and value eq "alice@home.org"]', set()),
    ('emails[type eq "work" and primary eq true]', {A}),
    ('emails[type eq "WORK"]', {A, B, E}),
    ('emails.type eq "home"', {A}),
    ("emails pr", {A, B, C, E}),
    ("emails eq null", {D}),
    ('emails ne "bob@work.com"', ALL - {B}),
    ('emails.value co "@work."', {A, B, E}),
    ('emails.value ew ".org"', {A}),
    ('emails.value gt "c"', {C, E}),
    ("emails[not (type pr)]", {C}),
    ("emails.display pr", set()),
    ('emails[value sw "alice" and display eq null]', {A}),
    ("emails.primary eq true", {A}),
    (f'{ENT}:department eq "r&d"', {A}),
    (f"{ENT}:department pr", {A, C}),
    (f'{ENT}:manager eq "m-1"', {A}),
    (f'{ENT}:manager.value eq "M-1"', {A}),
    (f"{ENT}:manager pr", {A}),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "carol"', {C}),
    ('roles[primary eq true].value eq "admin"', {E}),
    ('roles.value eq "dev"', {E}),
    ('x509Certificates.value eq "MIIB"', {E}),
    ('addresses[type eq "work" and locality eq "paris"]', {A}),
    ("addresses.locality pr", {A}),
    ('meta.resourceType eq "User"', ALL),
    ('meta.resourceType eq "Group"', set()),
    ('meta.version eq "W/\\"1\\""', ALL),
    ("meta pr", ALL),
    ("meta.created pr", ALL),
    ('meta.lastModified gt "2000-01-01T00:00:00Z"', ALL),
    ('meta.lastModified lt "2000-01-01"', set()),
    ('nickName eq "caz" or title pr', {A, B, C}),
    ('(active eq true or active eq false) and not (userName sw "a")', {B, D}),
    ('not (emails[type eq "work"])', {C, D}),
    ("groups pr", set()),
    ("groups eq null", ALL),
]

INVALID = [
    'password eq "x"',
    'foo eq "x"',
    'emails.foo eq "x"',
    'name gt "a"',
    'addresses eq "x"',
    "active gt true",
    'active eq "yes"',
    'active co "t"',
    'meta.created eq "not a date"',
    'meta.created co "2020"',
    "meta.created eq 5",
    "userName eq true",
    "userName eq 1.5",
    "userName co null",
    'meta.location eq "x"',
    'meta eq "x"',
    'x509Certificates.value gt "a"',
    'urn:unknown:schema:User:foo eq "x"',
    'name[foo eq "x"]',
    'userName[value eq "x"]',
    'emails[value.x eq "x"]',
]


@pytest.fixture
def people(db: Database, tenant: Tenant, user_store: UserStore) -> dict[str, Stored]:
    with db.write() as conn:
        return {u["userName"]: user_store.insert(conn, tenant.id, u) for u in USERS}


def run(db: Database, tenant: Tenant, store: UserStore, f: Any) -> set[str]:
    with db.read() as conn:
        found = store.search(conn, tenant.id, f, None, Page(100))
    assert found.total == len(found.items)
    return {s.data["userName"] for s in found.items}


def test_filter_table(
    db: Database, tenant: Tenant, user_store: UserStore, people: dict[str, Stored]
) -> None:
    cases = [*CASES, (f'id eq "{people[C].id}"', {C}), (f'id eq "{people[C].id.upper()}"', set())]
    failures = []
    for text, expected in cases:
        f = parse_filter(text)
        got = run(db, tenant, user_store, f)
        complement = run(db, tenant, user_store, Not(f))
        if got != expected or complement != ALL - expected:
            failures.append(f"{text}: {sorted(got)} / not: {sorted(complement)}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("text", INVALID)
def test_invalid_filters(db: Database, tenant: Tenant, user_store: UserStore, text: str) -> None:
    with pytest.raises(InvalidFilter), db.read() as conn:
        user_store.search(conn, tenant.id, parse_filter(text), None, Page(10))


def test_other_tenant_data_is_invisible(
    db: Database, tenant: Tenant, other_tenant: Tenant, user_store: UserStore
) -> None:
    with db.write() as conn:
        for u in USERS:
            user_store.insert(conn, other_tenant.id, u)
    for text, _ in CASES:
        assert run(db, tenant, user_store, parse_filter(text)) == set(), text
