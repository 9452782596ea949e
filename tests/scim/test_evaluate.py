"""The reference semantics of filters (RFC 7644 §3.4.2.2), which the SQL compiler must
match exactly (docs/architecture.md, "Semantics decided")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scimhub.scim.errors import InvalidFilter
from scimhub.scim.evaluate import compile_filter, matches, matches_element
from scimhub.scim.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    ValuePath,
    parse_filter,
    parse_value_filter,
)
from scimhub.scim.schema import (
    ENTERPRISE_USER_URN,
    GROUP,
    USER,
    USER_SCHEMA,
    Attribute,
    ResourceType,
    Schema,
)

ENT = ENTERPRISE_USER_URN

# RFC 7643 §8.2-style user, as the service hands it to the evaluator: data dict plus id,
# meta (a stored datetime and an ISO string) and the user's groups.
BJENSEN: dict[str, Any] = {
    "id": "2819c223-7f76-453a-919d-413861904646",
    "externalId": "bjensen",
    "meta": {
        "resourceType": "User",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": datetime(2011, 5, 13, 4, 42, 34, tzinfo=UTC),
        "version": 'W/"a330bc54f0671c9"',
    },
    "userName": "Bjensen@Example.com",
    "name": {"familyName": "Jensen", "givenName": "Barbara"},
    "displayName": "Babs Jensen",
    "title": "Tour Guide",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "addresses": [{"type": "work", "locality": "Hollywood", "country": "USA"}],
    "x509Certificates": [{"value": "MIIDQzCC"}],
    "groups": [{"value": "e9e30dba", "display": "Tour Guides", "type": "direct"}],
    ENT: {
        "employeeNumber": "701984",
        "department": "Tour Operations",
        "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
    },
}

ADMINS: dict[str, Any] = {
    "id": "e9e30dba",
    "displayName": "Tour Guides",
    "members": [{"value": "2819c223", "type": "User"}, {"value": "g-Nested", "type": "Group"}],
}

USER_CASES = [
    # caseExact=false strings fold both sides (RFC 7643 §2.2 caseExact; §3.4.2.2).
    ('userName eq "bjensen@example.com"', True),
    ('USERNAME Eq "BJENSEN@EXAMPLE.COM"', True),
    ('userName co "JENSEN@"', True),
    ('userName sw "bj"', True),
    ('userName ew ".COM"', True),
    ('userName gt "a"', True),
    ('userName lt "a"', False),
    ('userName ge "bjensen@example.com"', True),
    ('userName le "bjensen@example.com"', True),
    ('userName gt "bjensen@example.com"', False),
    ('userName ne "bjensen@example.com"', False),
    # caseExact=true: id, externalId
    ('externalId eq "bjensen"', True),
    ('externalId eq "BJENSEN"', False),
    ('externalId sw "BJ"', False),
    ('id eq "2819c223-7f76-453a-919d-413861904646"', True),
    ('id eq "2819C223-7F76-453A-919D-413861904646"', False),
    # absent attributes: only ne, eq null and not(...) match
    ('nickName eq "x"', False),
    ('nickName ne "x"', True),
    ('nickName co ""', False),
    ('nickName gt ""', False),
    ("nickName pr", False),
    ("nickName eq null", True),
    ("nickName ne null", False),
    ("title eq null", False),
    ("title ne null", True),
    ("title pr", True),
    ('not (nickName eq "x")', True),
    ("not (title pr)", False),
    # multi-valued: any value (§3.4.2.2); `emails op v` means `emails.value op v`
    ('emails eq "babs@jensen.org"', True),
    ('emails co "JENSEN.ORG"', True),
    ('emails ne "babs@jensen.org"', False),
    ('emails ne "nobody@example.com"', True),
    ('emails gt "bz"', False),
    ('emails lt "bz"', True),
    ('emails.type eq "work"', True),
    ('emails.type eq "other"', False),
    ('emails.type ne "work"', False),
    ("emails.display pr", False),
    ("emails pr", True),
    ("phoneNumbers pr", False),
    ("phoneNumbers eq null", True),
    ('phoneNumbers ne "x"', True),
    # value paths: one element satisfies the whole inner filter
    ('emails[type eq "work" and value co "babs"]', False),
    ('emails[type eq "home" and value co "babs"]', True),
    ('emails[type eq "work"].value eq "bjensen@example.com"', True),
    ('emails[type eq "work"].value eq "babs@jensen.org"', False),
    ("emails[primary eq true]", True),
    ('emails[primary eq "True"]', True),
    ("emails[not (primary pr)]", True),
    ('not (emails[type eq "other"])', True),
    ('addresses[locality sw "holly"]', True),
    ('name[givenName eq "barbara"]', True),
    # complex single-valued
    ('name.givenName eq "barbara"', True),
    ("name pr", True),
    ("name.middleName pr", False),
    ("name eq null", False),
    # booleans
    ("active eq true", True),
    ('active eq "false"', False),
    ("active ne false", True),
    ("active pr", True),
    # dateTime compares instants (meta from resource["meta"])
    ('meta.created gt "2010-01-01T00:00:00Z"', True),
    ('meta.created eq "2010-01-23T05:56:22+01:00"', True),
    ('meta.created eq "2010-01-23T04:56:22.000Z"', True),
    ('meta.created gt "2010-01-23T04:56:22.000001Z"', False),
    ('meta.created eq "2010-01-23T04:56:22"', True),
    ('meta.lastModified ge "2011-05-13T04:42:34Z"', True),
    ('meta.lastModified lt "2011-05-13"', False),
    ('meta.lastModified gt "2011-05-13 04:42:33Z"', True),
    ('meta.resourceType eq "User"', True),
    ('meta.resourceType eq "user"', False),  # caseExact (RFC 7643 §3.1)
    ('meta.version eq "W/\\"a330bc54f0671c9\\""', True),
    # enterprise extension, URN-qualified
    (f'{ENT}:employeeNumber eq "701984"', True),
    (f"{ENT}:employeeNumber eq 701984", True),
    (f'{ENT.upper()}:DEPARTMENT sw "tour"', True),
    (f'{ENT}:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"', True),
    (f'{ENT}:manager eq "26118915-6090-4610-87e4-49d8ca9f808d"', True),
    (f"{ENT}:costCenter pr", False),
    (f'{ENT}:costCenter ne "x"', True),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "BJENSEN@example.com"', True),
    # readOnly groups
    ('groups eq "e9e30dba"', True),
    ('groups.display eq "tour guides"', True),
    ('groups[type eq "indirect"]', False),
    # binary equality
    ('x509Certificates.value eq "MIIDQzCC"', True),
    ('x509Certificates.value eq "miidqzcc"', True),
    # logic and precedence: and binds tighter than or
    ('title eq "x" and nickName pr or active eq true', True),
    ('title eq "x" and (nickName pr or active eq true)', False),
    ('(title eq "Tour Guide" or nickName pr) and not (active eq false)', True),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=t) for t, e in USER_CASES])
def test_user_filters(text: str, expected: bool) -> None:
    assert matches(USER, BJENSEN, parse_filter(text)) is expected


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=t) for t, e in USER_CASES])
def test_not_is_the_exact_complement(text: str, expected: bool) -> None:
    assert matches(USER, BJENSEN, Not(parse_filter(text))) is (not expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('members eq "2819c223"', True),  # Entra: `id eq "g" and members eq "u"`
        ('members eq "2819C223"', False),  # members.value is caseExact
        ('members.value eq "g-Nested"', True),
        ('members[type eq "group"]', True),  # members.type is not caseExact
        ('members[type eq "User" and value eq "g-Nested"]', False),
        ("members pr", True),
        ('id eq "e9e30dba" and members eq "2819c223"', True),
        ('displayName eq "TOUR GUIDES"', True),
    ],
)
def test_group_filters(text: str, expected: bool) -> None:
    assert matches(GROUP, ADMINS, parse_filter(text)) is expected


def test_group_without_members() -> None:
    group = {"id": "g", "displayName": "Empty"}
    assert matches(GROUP, group, parse_filter('members eq "u"')) is False
    assert matches(GROUP, group, parse_filter('members ne "u"')) is True
    assert matches(GROUP, group, parse_filter("members eq null")) is True


def test_unicode_case_folding_uses_str_lower() -> None:
    resource = {"userName": "x", "displayName": "ÉCOLE Straße"}
    assert matches(USER, resource, parse_filter('displayName eq "école straße"'))
    assert matches(USER, resource, parse_filter('displayName co "STRASSE"')) is False


def test_empty_values_are_absent() -> None:
    """Never stored, but a dict with "" / [] / {} must evaluate like the SQL does."""
    resource = {"userName": "x", "title": "", "emails": [], "name": {}}
    for text in ("title pr", "emails pr", "name pr", 'title eq ""', 'emails.value co ""'):
        assert matches(USER, resource, parse_filter(text)) is False, text
    assert matches(USER, resource, parse_filter("title eq null"))


INVALID = [
    'password eq "x"',  # writeOnly (RFC 7643 §2.2 returned never)
    "password pr",
    'foo eq "x"',
    'name.foo eq "x"',
    'urn:example:unknown:2.0:User:x eq "y"',
    f'{ENT}:userName eq "y"',
    'members eq "x"',  # not a User attribute
    'emails[foo eq "x"]',
    'emails[value.x eq "x"]',
    'title[value eq "x"]',  # value filter on a simple attribute
    "active gt true",
    'active co "t"',
    'active eq "yes"',
    "active eq 1",
    'meta.created gt "yesterday"',
    "meta.created eq 5",
    'meta.created co "2010"',
    'meta.created eq "04-12-2018 00:00:00"',
    'name eq "x"',  # complex without value sub-attribute
    'name co "x"',
    'addresses eq "x"',
    f'{ENT}:manager gt "x"',  # ordering on a single-valued complex attribute
    "title gt null",
    "title co null",
    "userName eq true",
    "userName eq 1.5",
    'x509Certificates.value gt "x"',  # binary: no ordering (§3.4.2.2)
    'userName eq "bjensen@example.com" or foo eq "x"',  # invalid whatever the data
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_filters(text: str) -> None:
    with pytest.raises(InvalidFilter):
        compile_filter(USER, parse_filter(text))
    with pytest.raises(InvalidFilter):
        matches(USER, {}, parse_filter(text))


def test_nested_value_path_is_invalid() -> None:
    inner = ValuePath(AttrPath(None, "emails"), Compare(AttrPath(None, "type"), "eq", "w"))
    with pytest.raises(InvalidFilter):
        matches(USER, BJENSEN, ValuePath(AttrPath(None, "emails"), inner))


WIDGET = ResourceType(
    "Widget",
    "Widget",
    "/Widgets",
    "test-only",
    Schema(
        "urn:example:scim:schemas:Widget",
        "Widget",
        "test-only",
        (
            Attribute("serial"),
            Attribute("count", "integer"),
            Attribute("weight", "decimal"),
            Attribute("released", "dateTime"),
        ),
    ),
)


def test_numbers_compare_numerically() -> None:
    widget = {"serial": "s", "count": 10, "weight": 2.5, "released": "2020-01-01T00:00:00+05:00"}
    cases = {
        "count gt 9": True,
        "count gt 10": False,
        "count eq 10.0": True,
        "weight lt 3": True,
        "weight ge 2.5": True,
        'released lt "2019-12-31T19:00:01Z"': True,
        'released eq "2019-12-31T19:00:00Z"': True,
    }
    for text, expected in cases.items():
        assert matches(WIDGET, widget, parse_filter(text)) is expected, text
    for text in ('count eq "10"', "count co 1", "count eq true", "serial gt 5.5"):
        with pytest.raises(InvalidFilter):
            matches(WIDGET, widget, parse_filter(text))


# -- elements (value filters of PATCH paths) ---------------------------------------------

_EMAILS = USER_SCHEMA.attribute("emails")
assert _EMAILS is not None
EMAILS: Attribute = _EMAILS


@pytest.mark.parametrize(
    ("text", "element", "expected"),
    [
        ('type eq "WORK"', {"type": "work", "value": "a"}, True),
        ('type eq "work" and value eq "A"', {"type": "work", "value": "a"}, True),
        ("value pr", {"type": "work"}, False),
        ('type ne "work"', {"value": "a"}, True),
        ("primary eq false", {"value": "a"}, False),
        ("not (primary eq true)", {"value": "a"}, True),
        ('display eq "x"', {"value": "a", "display": "X"}, True),
    ],
)
def test_matches_element(text: str, element: dict[str, Any], expected: bool) -> None:
    assert matches_element(EMAILS, element, parse_value_filter(text)) is expected


@pytest.mark.parametrize("text", ['foo eq "x"', "type.x eq 1", "primary gt true", "value eq true"])
def test_matches_element_invalid(text: str) -> None:
    with pytest.raises(InvalidFilter):
        matches_element(EMAILS, {"value": "a"}, parse_value_filter(text))


def test_element_paths_cannot_carry_urns() -> None:
    f = Compare(AttrPath(ENT, "type"), "eq", "work")
    with pytest.raises(InvalidFilter):
        matches_element(EMAILS, {"type": "work"}, f)


# -- properties ---------------------------------------------------------------------------

ATOMS = [t for t, _ in USER_CASES if " and " not in t and " or " not in t]


def _filters() -> st.SearchStrategy[Filter]:
    atoms = st.sampled_from(ATOMS).map(parse_filter)
    return st.recursive(
        atoms,
        lambda inner: st.one_of(
            st.builds(And, inner, inner), st.builds(Or, inner, inner), st.builds(Not, inner)
        ),
        max_leaves=8,
    )


@settings(max_examples=300, deadline=None)
@given(f=_filters())
def test_boolean_algebra(f: Filter) -> None:
    """not(x) is the exact complement, and De Morgan holds: the evaluator is two-valued."""
    value = matches(USER, BJENSEN, f)
    assert matches(USER, BJENSEN, Not(f)) is (not value)
    assert matches(USER, BJENSEN, Not(Not(f))) is value
    if isinstance(f, And):
        assert matches(USER, BJENSEN, Or(Not(f.left), Not(f.right))) is (not value)


_PATHS = ["userName", "title", "nickName", "emails", "emails.type", f"{ENT}:department", "id"]
_VALUES = ["Tour Guide", "tour guide", "work", "bjensen@example.com", "Tour Operations", "x"]


@settings(max_examples=300, deadline=None)
@given(path=st.sampled_from(_PATHS), value=st.sampled_from(_VALUES), upper=st.booleans())
def test_ne_is_not_eq_and_names_are_case_insensitive(path: str, value: str, upper: bool) -> None:
    name = path.upper() if upper else path
    eq = matches(USER, BJENSEN, parse_filter(f'{name} eq "{value}"'))
    ne = matches(USER, BJENSEN, parse_filter(f'{name} ne "{value}"'))
    assert ne is (not eq)
    assert eq is matches(USER, BJENSEN, parse_filter(f'{path} eq "{value}"'))


@pytest.mark.parametrize("rt", [USER, GROUP])
def test_absent_everything(rt: ResourceType) -> None:
    """On an empty resource, every comparison but ne / eq null fails."""
    for text in (
        'displayName eq "x"',
        'displayName co "x"',
        'displayName gt "x"',
        "displayName pr",
    ):
        assert matches(rt, {}, parse_filter(text)) is False
    assert matches(rt, {}, parse_filter('displayName ne "x"')) is True
    assert matches(rt, {}, parse_filter("displayName eq null")) is True
