"""`attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) and `returned`
(RFC 7643 §2.2, §7)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scimhub.scim.projection import Projection, project
from scimhub.scim.schema import (
    ENTERPRISE_USER_URN,
    GROUP,
    GROUP_URN,
    USER,
    USER_URN,
    Attribute,
    ResourceType,
    Schema,
)

ENT = ENTERPRISE_USER_URN

USER_DOC: dict[str, Any] = {
    "schemas": [USER_URN, ENT],
    "id": "2819c223",
    "externalId": "00u1",
    "meta": {
        "resourceType": "User",
        "created": "2024-01-01T00:00:00Z",
        "lastModified": "2024-01-02T00:00:00Z",
        "location": "https://example.com/scim/v2/acme/Users/2819c223",
        "version": 'W/"3"',
    },
    "userName": "bjensen",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "active": True,
    "password": "t1meMa$heen",  # returned: never (RFC 7643 §4.1.1)
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@example.org"},
    ],
    ENT: {"department": "Tour Operations", "manager": {"value": "26118915", "displayName": "J"}},
    "groups": [{"value": "e9e30dba", "display": "Tour Guides", "type": "direct"}],
}

GROUP_DOC: dict[str, Any] = {
    "schemas": [GROUP_URN],
    "id": "e9e30dba",
    "displayName": "Tour Guides",
    "meta": {"resourceType": "Group", "version": 'W/"1"'},
    "members": [{"value": "2819c223", "type": "User", "display": "Babs"}],
}


def run(attributes: str | None, excluded: str | None = None, doc: Any = None) -> dict[str, Any]:
    return project(USER, doc or USER_DOC, Projection.parse(attributes, excluded))


def without(doc: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in keys}


def test_default_representation_drops_only_never_attributes() -> None:
    # RFC 7643 §7: "never" is never returned; everything "default" is.
    assert run(None) == without(USER_DOC, "password")


def test_schemas_id_always_and_rfc_example() -> None:
    # RFC 7644 §3.9 example: ?attributes=userName returns schemas, id and userName only.
    assert run("userName") == {"schemas": [USER_URN], "id": "2819c223", "userName": "bjensen"}


CASES: list[tuple[str | None, str | None, dict[str, Any]]] = [
    # attributes: names, case-insensitive (RFC 7643 §2.1), comma-separated.
    ("USERNAME, active", None, {"userName": "bjensen", "active": True}),
    ("name", None, {"name": USER_DOC["name"]}),
    ("name.givenName", None, {"name": {"givenName": "Barbara"}}),
    (
        "emails.value",
        None,
        {"emails": [{"value": "bjensen@example.com"}, {"value": "babs@example.org"}]},
    ),
    # An element without the sub-attribute is dropped, not returned as {}.
    ("emails.type", None, {"emails": [{"type": "work"}]}),
    ("meta.version", None, {"meta": {"version": 'W/"3"'}}),
    # URN-qualified names (RFC 7644 §3.10).
    (f"{USER_URN}:userName", None, {"userName": "bjensen"}),
    (f"{USER_URN.upper()}:USERNAME", None, {"userName": "bjensen"}),
    (f"{ENT}:department", None, {ENT: {"department": "Tour Operations"}}),
    (f"{ENT}:manager.value", None, {ENT: {"manager": {"value": "26118915"}}}),
    (ENT, None, {ENT: USER_DOC[ENT]}),
    (ENT.lower(), None, {ENT: USER_DOC[ENT]}),
    (f"{ENT}:department,{ENT}", None, {ENT: USER_DOC[ENT]}),
    # "always" is returned even when not named; "never" even when named.
    ("id", None, {}),
    ("password", None, {}),
    ("password,userName", None, {"userName": "bjensen"}),
    # Unknown names are ignored, not an error.
    ("nickName,bogus,name.bogus,urn:x:y:z,a.b.c,", None, {}),
]


@pytest.mark.parametrize(("attributes", "excluded", "extra"), CASES)
def test_attributes(attributes: str | None, excluded: str | None, extra: dict[str, Any]) -> None:
    schemas = [USER_URN, ENT] if ENT in extra else [USER_URN]
    assert run(attributes, excluded) == {"schemas": schemas, "id": "2819c223", **extra}


EXCLUDED: list[tuple[str, dict[str, Any]]] = [
    ("emails", without(USER_DOC, "password", "emails")),
    ("EMAILS,name", without(USER_DOC, "password", "emails", "name")),
    ("meta", without(USER_DOC, "password", "meta")),
    ("name.givenName", {**without(USER_DOC, "password"), "name": {"familyName": "Jensen"}}),
    (
        "emails.primary,emails.type",
        {
            **without(USER_DOC, "password"),
            "emails": [{"value": "bjensen@example.com"}, {"value": "babs@example.org"}],
        },
    ),
    (f"{ENT}:manager", {**without(USER_DOC, "password"), ENT: {"department": "Tour Operations"}}),
    # RFC 7644 §3.4.2.5: "no effect on attributes whose ... returned setting is always".
    ("id,schemas", without(USER_DOC, "password")),
    ("bogus", without(USER_DOC, "password")),
]


@pytest.mark.parametrize(("excluded", "expected"), EXCLUDED)
def test_excluded_attributes(excluded: str, expected: dict[str, Any]) -> None:
    assert run(None, excluded) == expected


def test_excluding_the_whole_extension_drops_its_urn_from_schemas() -> None:
    out = run(None, ENT)
    assert ENT not in out
    assert out["schemas"] == [USER_URN]


def test_an_emptied_extension_is_dropped_with_its_urn() -> None:
    out = run(None, f"{ENT}:department,{ENT}:manager")
    assert ENT not in out
    assert out["schemas"] == [USER_URN]


def test_both_parameters_select_then_remove() -> None:
    # RFC 7644 §3.9 calls them mutually exclusive without naming an error: scimhub
    # applies attributes, then removes excludedAttributes.
    assert run("userName,name", "name") == {
        "schemas": [USER_URN],
        "id": "2819c223",
        "userName": "bjensen",
    }
    assert run("name", "name.givenName") == {
        "schemas": [USER_URN],
        "id": "2819c223",
        "name": {"familyName": "Jensen"},
    }
    assert run("userName", "id") == run("userName")


def test_search_body_lists() -> None:
    # RFC 7644 §3.4.3: a .search body gives lists of names.
    projection = Projection.parse(["userName", "name.givenName"], [])
    assert projection == Projection(("userName", "name.givenName"), ())
    assert run("userName,name.givenName") == project(USER, USER_DOC, projection)


@pytest.mark.parametrize(
    ("value", "names"),
    [
        (None, ()),
        ("", ()),
        (" , ", ()),
        ("a, b ,c", ("a", "b", "c")),
        (["a", "b,c", " "], ("a", "b", "c")),
    ],
)
def test_parse(value: Any, names: tuple[str, ...]) -> None:
    assert Projection.parse(value, None).attributes == names
    assert Projection.parse(None, value).excluded == names


@pytest.mark.parametrize(
    ("attributes", "excluded", "members"),
    [
        (None, None, True),
        (None, "members", False),  # Entra: GET /Groups?excludedAttributes=members
        (None, "MEMBERS", False),
        (None, "members.display", True),
        (None, "displayName", True),
        ("id", None, False),  # attributes=id: nothing to load
        ("displayName", None, False),
        ("members", None, True),
        ("members.value", None, True),
        (f"{GROUP_URN}:members", None, True),
        ("members", "members", False),
    ],
)
def test_includes_members(attributes: str | None, excluded: str | None, members: bool) -> None:
    projection = Projection.parse(attributes, excluded)
    assert projection.includes(GROUP, "members") is members
    assert ("members" in project(GROUP, GROUP_DOC, projection)) is members


@pytest.mark.parametrize(
    ("attributes", "excluded", "groups"),
    [
        (None, None, True),
        (None, "groups", False),
        ("userName", None, False),
        ("groups", None, True),
    ],
)
def test_includes_groups(attributes: str | None, excluded: str | None, groups: bool) -> None:
    assert Projection.parse(attributes, excluded).includes(USER, "groups") is groups


def test_includes_never_attribute_is_false() -> None:
    assert Projection().includes(USER, "password") is False
    assert Projection.parse("password", None).includes(USER, "password") is False


def test_group_members_sub_attribute() -> None:
    out = project(GROUP, GROUP_DOC, Projection.parse("members.value", None))
    assert out == {"schemas": [GROUP_URN], "id": "e9e30dba", "members": [{"value": "2819c223"}]}


def test_input_is_not_modified() -> None:
    before = copy.deepcopy(USER_DOC)
    run("name.givenName", "emails")
    run(None, f"{ENT}:manager")
    assert before == USER_DOC


def test_unknown_keys_follow_the_mode() -> None:
    doc = {**GROUP_DOC, "x-vendor": 1}
    assert project(GROUP, doc, Projection())["x-vendor"] == 1
    assert "x-vendor" not in project(GROUP, doc, Projection.parse("displayName", None))


def test_request_and_never_sub_attributes() -> None:
    # RFC 7643 §7: "request" only when named; "never" never, also inside a complex one.
    secret = Schema(
        "urn:example:Thing",
        "Thing",
        "",
        (
            Attribute("code", returned="request"),
            Attribute(
                "box",
                "complex",
                sub_attributes=(Attribute("a"), Attribute("hidden", returned="never")),
            ),
        ),
    )
    rt = ResourceType("Thing", "Thing", "/Things", "", secret)
    doc = {"schemas": ["urn:example:Thing"], "id": "1", "code": "c", "box": {"a": 1, "hidden": 2}}
    assert project(rt, doc, Projection()) == {
        "schemas": ["urn:example:Thing"],
        "id": "1",
        "box": {"a": 1},
    }
    assert project(rt, doc, Projection.parse("code,box", None)) == {
        "schemas": ["urn:example:Thing"],
        "id": "1",
        "code": "c",
        "box": {"a": 1},
    }
    assert project(rt, doc, Projection.parse("box.hidden", None)) == {
        "schemas": ["urn:example:Thing"],
        "id": "1",
    }
    assert Projection.parse("code", None).includes(rt, "code") is True
    assert Projection().includes(rt, "code") is False


def test_many_resources_are_fast() -> None:
    import time

    projection = Projection.parse(None, "members")
    started = time.perf_counter()
    for _ in range(20_000):
        project(USER, USER_DOC, projection)
    assert time.perf_counter() - started < 2.0
