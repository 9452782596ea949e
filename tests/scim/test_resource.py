"""Normalizing POST/PUT bodies into data dicts (RFC 7643 §2, RFC 7644 §3.3, §3.5.1), with
the IdP shapes of /work/shared/idp/behaviour.md and the corpus POST/PUT bodies."""

from __future__ import annotations

import copy
import json
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from scimhub.scim.errors import InvalidSyntax, InvalidValue, Mutability, ScimError
from scimhub.scim.resource import (
    normalize,
    normalize_replacement,
    normalize_value,
    parse_datetime,
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
CORPUS = Path(__file__).parents[1] / "conformance" / "data" / "corpus-okta-entra.jsonl"

# A resource type with the attribute types and mutabilities the User/Group schemas lack.
WIDGET_SCHEMA = Schema(
    "urn:example:scim:schemas:Widget",
    "Widget",
    "test-only",
    (
        Attribute("serial", required=True, mutability="immutable", case_exact=True),
        Attribute("released", "dateTime"),
        Attribute("count", "integer"),
        Attribute("weight", "decimal"),
        Attribute("blob", "binary"),
        Attribute("tags", multi_valued=True),
        Attribute("flag", "boolean"),
        Attribute(
            "spec",
            "complex",
            sub_attributes=(Attribute("model", mutability="immutable"), Attribute("color")),
        ),
    ),
)
WIDGET = ResourceType("Widget", "Widget", "/Widgets", "test-only", WIDGET_SCHEMA)


def user(**extra: Any) -> dict[str, Any]:
    return {"userName": "bjensen", **extra}


# -- POST: accepted shapes ---------------------------------------------------------------

NORMALIZE_CASES = [
    pytest.param(
        USER,
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        },
        {
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "active": True,
        },
        id="okta-create: password discarded, readOnly groups ignored, externalId kept",
    ),
    pytest.param(
        USER,
        {
            "id": "abc",
            "externalId": "00uq2kqg7YTkFo3cY0g3",
            "meta": {
                "resourceType": "User",
                "created": "04-12-2018 00:00:00",
                "lastModified": "04-12-2018 00:00:00",
                "version": "v1.0",
            },
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "jane.doe@example.com",
            "password": "TkdFNVdIVkxhM2c9",
            "groups": [{"value": "g1", "display": "x"}],
        },
        {"externalId": "00uq2kqg7YTkFo3cY0g3", "userName": "jane.doe@example.com"},
        # RFC 7644 §3.5.1: readOnly values "SHALL be ignored"; meta is never parsed.
        id="okta-put-echo: id and meta with non-ISO dates ignored",
    ),
    pytest.param(
        USER,
        {
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
            ],
            "externalId": "jyoung",
            "userName": "jyoung@testuser.com",
            "active": True,
            "addresses": None,
            "displayName": "Joy Young",
            "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}],
            "meta": {"resourceType": "User"},
            "name": {"familyName": "Young", "givenName": "Joy"},
            "phoneNumbers": None,
            "preferredLanguage": None,
            "title": None,
            "department": None,
            "manager": None,
            "roles": [],
        },
        {
            "externalId": "jyoung",
            "userName": "jyoung@testuser.com",
            "active": True,
            "displayName": "Joy Young",
            "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}],
            "name": {"familyName": "Young", "givenName": "Joy"},
        },
        id="entra-create: nulls, roles [], malformed extension URN, unqualified extension names",
    ),
    pytest.param(
        USER,
        {"userName": "emp1", "active": "True"},
        {"userName": "emp1", "active": True},
        id="entra-legacy: string boolean 'True'",
    ),
    pytest.param(
        USER,
        user(active="FALSE"),
        user(active=False),
        id="boolean string any case",
    ),
    pytest.param(
        USER,
        user(active="fAlSe"),
        user(active=False),
        id="boolean string mixed case",
    ),
    pytest.param(
        USER,
        user(emails={"value": "a@example.com", "type": "work"}),
        user(emails=[{"value": "a@example.com", "type": "work"}]),
        id="onelogin: emails as a single object is wrapped",
    ),
    pytest.param(
        USER,
        {"id": None, "userName": "x", "nickName": "", "title": "", "active": "true"},
        {"userName": "x", "active": True},
        id="onelogin-template: id null, empty strings absent, quoted boolean",
    ),
    pytest.param(
        USER,
        user(name={"givenName": "", "familyName": "J", "middleName": None}),
        user(name={"familyName": "J"}),
        id="null and empty inside complex are absent",
    ),
    pytest.param(
        USER,
        user(name={"givenName": "", "middleName": None}),
        user(),
        id="complex with only empty sub-attributes is absent",
    ),
    pytest.param(
        USER,
        user(emails=[{}, {"value": ""}, None, "", {"value": "a@example.com"}]),
        user(emails=[{"value": "a@example.com"}]),
        id="empty elements dropped",
    ),
    pytest.param(
        USER,
        user(emails=[{"value": None, "type": ""}], phoneNumbers=[]),
        user(),
        id="multi-valued with only empty elements is absent",
    ),
    pytest.param(
        USER,
        {
            "USERNAME": "bjensen",
            "Emails": [{"VALUE": "a@example.com", "Type": "Work", "PRIMARY": "true"}],
            "NAME": {"GivenName": "Barbara"},
        },
        {
            "userName": "bjensen",
            "emails": [{"value": "a@example.com", "type": "Work", "primary": True}],
            "name": {"givenName": "Barbara"},
        },
        # RFC 7643 §2.1: attribute names are case-insensitive; values are kept as sent.
        id="names case-insensitive, canonical spelling out, type value kept as sent",
    ),
    pytest.param(
        USER,
        user(phoneNumbers=[{"value": "+1 (555) 010-0000 ext. 12", "type": "work"}]),
        user(phoneNumbers=[{"value": "+1 (555) 010-0000 ext. 12", "type": "work"}]),
        id="phone number byte-for-byte",
    ),
    pytest.param(
        USER,
        user(emails=[{"value": "a@example.com", "primary": False}, {"value": "b@example.com"}]),
        user(emails=[{"value": "a@example.com", "primary": False}, {"value": "b@example.com"}]),
        id="primary false kept",
    ),
    pytest.param(
        USER,
        user(**{ENT: {"department": "Sales", "employeeNumber": "701984"}}),
        user(**{ENT: {"department": "Sales", "employeeNumber": "701984"}}),
        id="okta: enterprise extension nested under its URN",
    ),
    pytest.param(
        USER,
        user(**{ENT.upper(): {"DEPARTMENT": "Sales"}}),
        user(**{ENT: {"department": "Sales"}}),
        id="extension URN key and its attributes case-insensitive",
    ),
    pytest.param(
        USER,
        user(**{f"{ENT}:employeeNumber": "x", f"{ENT}:department": "D"}),
        user(**{ENT: {"employeeNumber": "x", "department": "D"}}),
        id="top-level URN-qualified extension keys move into the extension",
    ),
    pytest.param(
        USER,
        user(**{ENT: {"department": "D"}, f"{ENT}:costCenter": "4130"}),
        user(**{ENT: {"department": "D", "costCenter": "4130"}}),
        id="nested extension and URN-qualified keys merge",
    ),
    pytest.param(
        USER,
        {"urn:ietf:params:scim:schemas:core:2.0:User:userName": "q", "displayName": "Q"},
        {"userName": "q", "displayName": "Q"},
        id="core-URN-qualified key",
    ),
    pytest.param(
        USER,
        user(**{ENT: {"manager": "26118915-6090-4610-87e4-49d8ca9f808d"}}),
        user(**{ENT: {"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}}),
        id="entra: manager as a bare string",
    ),
    pytest.param(
        USER,
        user(**{ENT: {"manager": {"value": "m1", "displayName": "Boss"}}}),
        user(**{ENT: {"manager": {"value": "m1"}}}),
        id="onelogin: manager.displayName is readOnly and dropped",
    ),
    pytest.param(
        USER,
        user(**{ENT: {"manager": [{"$ref": "https://x/Users/m1", "value": "m1"}]}}),
        user(**{ENT: {"manager": {"$ref": "https://x/Users/m1", "value": "m1"}}}),
        id="entra: single-valued manager as a one-element array",
    ),
    pytest.param(
        USER,
        user(**{ENT: {"manager": None, "department": ""}}),
        user(),
        id="extension with only absent values is absent",
    ),
    pytest.param(
        USER,
        user(
            foo=1, **{"urn:example:custom:2.0:User": {"x": 1}, "urn:example:custom:2.0:User:y": 2}
        ),
        user(),
        id="unknown attributes and URNs ignored",
    ),
    pytest.param(
        USER,
        user(emails=[{"value": "a@example.com", "bogus": 1, "display": "A"}]),
        user(emails=[{"value": "a@example.com", "display": "A"}]),
        id="unknown sub-attributes ignored, readWrite display kept",
    ),
    pytest.param(
        GROUP,
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "T",
            "members": [],
        },
        {"displayName": "T"},
        id="okta-group: members [] is absent",
    ),
    pytest.param(
        GROUP,
        {
            "displayName": "Example Group",
            "members": [
                {"value": "u1", "display": "steve@ad.oktatest.com"},
                {"value": "u2", "display": "bob@ad.oktatest.com", "$ref": "https://x/Users/u2"},
            ],
        },
        {
            "displayName": "Example Group",
            "members": [
                {"value": "u1", "display": "steve@ad.oktatest.com"},
                {"value": "u2", "display": "bob@ad.oktatest.com"},
            ],
        },
        id="okta-group: members display kept as sent, $ref dropped",
    ),
    pytest.param(
        GROUP,
        {
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:Group",
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            ],
            "externalId": "8aa1a0c0",
            "displayName": "displayName",
            "meta": {"resourceType": "Group"},
        },
        {"externalId": "8aa1a0c0", "displayName": "displayName"},
        id="entra-group: ADSCIM URN and meta ignored",
    ),
    pytest.param(
        GROUP,
        {
            "displayName": "G",
            "members": [
                {"value": "u1", "type": "user"},
                {"value": "g2", "type": "GROUP"},
                {"value": "u1", "type": "User"},
                {"$ref": None, "value": "u3"},
            ],
        },
        {
            "displayName": "G",
            "members": [
                {"value": "u1", "type": "User"},
                {"value": "g2", "type": "Group"},
                {"value": "u3"},
            ],
        },
        id="group members: type canonicalized, duplicates dropped, $ref null",
    ),
    pytest.param(
        WIDGET,
        {
            "serial": "S1",
            "released": "2024-02-29T23:59:59Z",
            "count": 3,
            "weight": 1.5,
            "blob": "AAEC",
            "tags": "one",
            "flag": "TRUE",
        },
        {
            "serial": "S1",
            "released": "2024-02-29T23:59:59Z",
            "count": 3,
            "weight": 1.5,
            "blob": "AAEC",
            "tags": ["one"],
            "flag": True,
        },
        id="widget: dateTime, integer, decimal, binary, simple multi-valued",
    ),
    pytest.param(
        WIDGET,
        {"serial": "S1", "weight": 2, "released": "2011-05-13T04:42:34.1234567-07:00"},
        {"serial": "S1", "weight": 2, "released": "2011-05-13T04:42:34.1234567-07:00"},
        id="widget: integer for decimal, dateTime stored as sent (7 fraction digits)",
    ),
]


@pytest.mark.parametrize(("rt", "body", "expected"), NORMALIZE_CASES)
def test_normalize(rt: ResourceType, body: dict[str, Any], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(body)
    assert normalize(rt, body) == expected
    assert body == before, "normalize must not mutate its input"


@pytest.mark.parametrize(("rt", "body", "expected"), NORMALIZE_CASES)
def test_normalize_is_idempotent(rt: ResourceType, body: Any, expected: dict[str, Any]) -> None:
    """The data dict is itself a valid body that normalizes to itself."""
    assert normalize(rt, expected) == expected


def test_canonical_key_order_is_irrelevant_but_names_are_canonical() -> None:
    data = normalize(USER, {"username": "x", "DISPLAYNAME": "y"})
    assert list(data) == ["userName", "displayName"]


# -- POST: rejected shapes ---------------------------------------------------------------

REJECT_CASES = [
    pytest.param(USER, [], InvalidSyntax, id="body is an array"),
    pytest.param(USER, "userName", InvalidSyntax, id="body is a string"),
    pytest.param(USER, None, InvalidSyntax, id="body is null"),
    pytest.param(USER, {}, InvalidValue, id="missing userName"),
    pytest.param(USER, {"userName": ""}, InvalidValue, id="empty userName is missing"),
    pytest.param(USER, {"userName": None, "displayName": "x"}, InvalidValue, id="null userName"),
    pytest.param(GROUP, {"members": []}, InvalidValue, id="group without displayName"),
    pytest.param(USER, user(active="yes"), InvalidValue, id="boolean 'yes'"),
    pytest.param(USER, user(active=1), InvalidValue, id="boolean as 1"),
    pytest.param(USER, user(active=0), InvalidValue, id="boolean as 0"),
    pytest.param(USER, user(active=" true"), InvalidValue, id="boolean with space"),
    pytest.param(USER, {"userName": True}, InvalidValue, id="string given a boolean"),
    pytest.param(USER, {"userName": 1.5}, InvalidValue, id="string given a float"),
    pytest.param(USER, {"userName": {"a": 1}}, InvalidValue, id="string given an object"),
    pytest.param(USER, {"userName": ["a", "b"]}, InvalidValue, id="single-valued given two values"),
    pytest.param(
        USER, user(name="Barbara"), InvalidValue, id="complex without value given a string"
    ),
    pytest.param(
        USER, user(name=[{"givenName": "a"}, {"givenName": "b"}]), InvalidValue, id="two names"
    ),
    pytest.param(USER, user(emails=[1]), InvalidValue, id="element not an object"),
    pytest.param(USER, user(emails="a@example.com"), InvalidValue, id="emails as a string"),
    pytest.param(USER, user(emails=["a@example.com"]), InvalidValue, id="element as a string"),
    pytest.param(USER, {"userName": 42}, InvalidValue, id="string given an integer"),
    pytest.param(USER, user(**{ENT: {"employeeNumber": 701984}}), InvalidValue, id="ext integer"),
    pytest.param(
        USER,
        user(
            emails=[{"value": "a@x.org", "primary": True}, {"value": "b@x.org", "primary": "True"}]
        ),
        InvalidValue,
        id="two primary values (RFC 7643 §2.4)",
    ),
    pytest.param(
        USER, user(emails=[{"value": "a", "primary": "maybe"}]), InvalidValue, id="bad primary"
    ),
    pytest.param(USER, user(**{ENT: "Sales"}), InvalidValue, id="extension not an object"),
    pytest.param(USER, user(profileUrl=5), InvalidValue, id="reference given a number"),
    pytest.param(
        GROUP,
        {"displayName": "G", "members": [{"display": "x"}]},
        InvalidValue,
        id="member without value",
    ),
    pytest.param(
        GROUP,
        {"displayName": "G", "members": [{"value": "u", "type": "Device"}]},
        InvalidValue,
        id="member type",
    ),
    pytest.param(
        GROUP, {"displayName": "G", "members": ["u1", 5]}, InvalidValue, id="member is a number"
    ),
    pytest.param(WIDGET, {"serial": "s", "count": "3"}, InvalidValue, id="integer given a string"),
    pytest.param(WIDGET, {"serial": "s", "count": 3.0}, InvalidValue, id="integer given a float"),
    pytest.param(
        WIDGET, {"serial": "s", "count": True}, InvalidValue, id="integer given a boolean"
    ),
    pytest.param(
        WIDGET, {"serial": "s", "weight": "1.5"}, InvalidValue, id="decimal given a string"
    ),
    pytest.param(
        WIDGET, {"serial": "s", "weight": False}, InvalidValue, id="decimal given a boolean"
    ),
    pytest.param(WIDGET, {"serial": "s", "blob": 5}, InvalidValue, id="binary given a number"),
    pytest.param(
        WIDGET, {"serial": "s", "released": "04-12-2018 00:00:00"}, InvalidValue, id="non-ISO date"
    ),
    pytest.param(
        WIDGET, {"serial": "s", "released": "2018-02-30T00:00:00Z"}, InvalidValue, id="Feb 30"
    ),
    pytest.param(
        WIDGET, {"serial": "s", "released": "2018-01-01"}, InvalidValue, id="date without time"
    ),
    pytest.param(WIDGET, {"serial": "s", "released": 1514764800}, InvalidValue, id="epoch number"),
]


@pytest.mark.parametrize(("rt", "body", "error"), REJECT_CASES)
def test_normalize_rejects(rt: ResourceType, body: Any, error: type[ScimError]) -> None:
    with pytest.raises(error) as info:
        normalize(rt, body)
    # RFC 7644 §3.12: every error is a 400 with the matching scimType.
    assert info.value.status == 400
    assert info.value.scim_type == error.scim_type


# -- xsd:dateTime (RFC 7643 §2.3.5) ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2011-05-13T04:42:34Z", "2011-05-13T04:42:34+00:00"),
        ("2011-05-13T04:42:34", "2011-05-13T04:42:34+00:00"),
        ("2011-05-13T04:42:34.5+02:00", "2011-05-13T02:42:34.500000+00:00"),
        ("2011-05-13T04:42:34.123456789-14:00", "2011-05-13T18:42:34.123456+00:00"),
        ("2011-12-31T24:00:00Z", "2012-01-01T00:00:00+00:00"),
        ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00+00:00"),
    ],
)
def test_parse_datetime_accepts_xsd(text: str, iso: str) -> None:
    parsed = parse_datetime(text)
    assert parsed is not None
    assert parsed.astimezone(UTC).isoformat() == iso


@pytest.mark.parametrize(
    "text",
    [
        "2011-05-13",
        "2011-05-13 04:42:34Z",
        "2011-05-13T04:42Z",
        "2011-05-13T04:42:34+2:00",
        "2011-05-13T04:42:34+15:00",
        "2011-05-13T04:42:34+14:30",
        "2011-05-13T24:00:01Z",
        "2023-02-29T00:00:00Z",
        "2011-13-13T04:42:34Z",
        "2011-05-13T04:42:34.Z",
        "04-12-2018 00:00:00",
        "0000-01-01T00:00:00Z",
        "\uff12\uff10\uff11\uff11-05-13T04:42:34Z",  # full-width digits
    ],
)
def test_parse_datetime_rejects(text: str) -> None:
    assert parse_datetime(text) is None


# -- normalize_value (what the PATCH engine reuses) --------------------------------------


def _attr(name: str) -> Attribute:
    found = USER_SCHEMA.attribute(name)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("active", "False", False),
        ("active", True, True),
        ("title", "", None),
        ("title", None, None),
        ("title", ["T"], "T"),
        ("title", [None, "T", ""], "T"),
        ("title", [], None),
        ("emails", {"value": "a"}, [{"value": "a"}]),
        ("emails", [], None),
        ("emails", [{"value": ""}], None),
        ("name", {"givenName": "g", "x": 1}, {"givenName": "g"}),
        ("name", {}, None),
        ("groups", [{"value": "g", "display": "d", "type": "direct"}], None),
    ],
)
def test_normalize_value(name: str, value: Any, expected: Any) -> None:
    assert normalize_value(_attr(name), value) == expected


# -- PUT (RFC 7644 §3.5.1) ---------------------------------------------------------------


def test_put_replaces_everything_not_sent() -> None:
    current = normalize(
        USER,
        user(title="T", emails=[{"value": "a@x.org"}], **{ENT: {"department": "D"}}),
    )
    assert normalize_replacement(USER, current, user(nickName="N")) == user(nickName="N")


def test_put_okta_group_replaces_members_and_name() -> None:
    current = {"displayName": "old", "externalId": "e"}
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "{groupId}",
        "displayName": "SCIM_test1",
        "members": [{"value": "u1", "display": "bob"}, {"value": "u2", "display": "pete"}],
    }
    assert normalize_replacement(GROUP, current, body) == {
        "displayName": "SCIM_test1",
        "members": [{"value": "u1", "display": "bob"}, {"value": "u2", "display": "pete"}],
    }


@pytest.mark.parametrize(
    ("current", "body", "expected"),
    [
        pytest.param(
            {"serial": "S1"}, {"serial": "S1", "count": 1}, {"serial": "S1", "count": 1}, id="same"
        ),
        pytest.param({"count": 1}, {"serial": "S2"}, {"serial": "S2"}, id="first value allowed"),
        pytest.param(
            {"serial": "S1", "spec": {"model": "M", "color": "red"}},
            {"serial": "S1", "spec": {"color": "blue"}},
            {"serial": "S1", "spec": {"model": "M", "color": "blue"}},
            id="omitted immutable sub-attribute kept",
        ),
        pytest.param(
            {"serial": "S1", "spec": {"model": "M"}},
            {"serial": "S1"},
            {"serial": "S1", "spec": {"model": "M"}},
            id="omitted complex with immutable sub-attribute kept",
        ),
        pytest.param(
            {"serial": "S1", "spec": {"color": "red"}},
            {"serial": "S1", "spec": {"model": "M"}},
            {"serial": "S1", "spec": {"model": "M"}},
            id="immutable sub-attribute without value may be set",
        ),
    ],
)
def test_put_immutable_allowed(
    current: dict[str, Any], body: dict[str, Any], expected: dict[str, Any]
) -> None:
    """RFC 7644 §3.5.1 immutable: "If one or more values are already set for the attribute,
    the input value(s) MUST match"; an omitted one cannot be cleared, so it is kept."""
    assert normalize_replacement(WIDGET, current, body) == expected


@pytest.mark.parametrize(
    ("current", "body"),
    [
        pytest.param({"serial": "S1"}, {"serial": "S2"}, id="changed"),
        pytest.param({"serial": "S1"}, {"serial": "s1"}, id="case change (caseExact)"),
        pytest.param(
            {"serial": "S", "spec": {"model": "M"}},
            {"serial": "S", "spec": {"model": "N"}},
            id="immutable sub-attribute changed",
        ),
    ],
)
def test_put_immutable_changed_is_mutability(current: dict[str, Any], body: dict[str, Any]) -> None:
    """RFC 7644 §3.5.1: "… or HTTP status code 400 SHOULD be returned with a "scimType"
    error code of "mutability"."""
    with pytest.raises(Mutability):
        normalize_replacement(WIDGET, current, body)


def test_put_omitted_immutable_is_kept_even_when_required() -> None:
    assert normalize_replacement(WIDGET, {"serial": "S1"}, {"serial": "S1"}) == {"serial": "S1"}
    with pytest.raises(InvalidValue):  # required is checked on the body first
        normalize_replacement(WIDGET, {"serial": "S1"}, {"count": 2})


# -- the corpus (behaviour.md §9) --------------------------------------------------------


def _corpus_bodies() -> list[Any]:
    cases = []
    for line in CORPUS.read_text().splitlines():
        entry = json.loads(line)
        if entry["method"] in ("POST", "PUT") and entry["body"] is not None:
            rt = GROUP if entry["path"].startswith("/Groups") else USER
            cases.append(pytest.param(rt, entry, id=f"{entry['idp']}: {entry['step']}"))
    return cases


@pytest.mark.parametrize(("rt", "entry"), _corpus_bodies())
def test_corpus_bodies_normalize(rt: ResourceType, entry: dict[str, Any]) -> None:
    """Every POST/PUT body the IdPs send is accepted (never a 400) and yields a data dict
    without readOnly, writeOnly or unknown content, whose values are the ones sent."""
    body = entry["body"]
    data = normalize(rt, body)
    assert not {"id", "meta", "schemas", "groups", "password"} & set(data)
    for key, value in data.items():
        if key == "members":
            assert [m["value"] for m in value] == [m["value"] for m in body["members"]]
        elif key == ENT:
            assert value == body[ENT]
        elif key == "active" and isinstance(body[key], str):
            assert value is (body[key].lower() == "true")  # Entra's "True"
        else:
            # Values are stored byte-for-byte: strings, booleans and sub-objects as sent.
            assert value == body[key], key
    assert data["userName" if rt is USER else "displayName"]
