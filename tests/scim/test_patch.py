"""The PATCH engine (RFC 7644 §3.5.2), with every PATCH shape of
/work/shared/idp/behaviour.md §0.3-§0.4 and the corpus PATCH bodies."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from scimhub.scim.errors import (
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
)
from scimhub.scim.filter import AttrPath, Compare, Or, PatchPath, parse_value_filter
from scimhub.scim.patch import (
    MemberChange,
    PatchOperation,
    PatchResult,
    apply_patch,
    parse_patch,
)
from scimhub.scim.resource import normalize
from scimhub.scim.schema import (
    ENTERPRISE_USER_URN,
    GROUP,
    USER,
    Attribute,
    ResourceType,
    Schema,
)

ENT = ENTERPRISE_USER_URN
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CORPUS = Path(__file__).parents[1] / "conformance" / "data" / "corpus-okta-entra.jsonl"


def body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def run(rt: ResourceType, data: dict[str, Any], *operations: dict[str, Any]) -> PatchResult:
    before = copy.deepcopy(data)
    result = apply_patch(rt, data, parse_patch(body(*operations)))
    assert data == before, "apply_patch must not mutate its input"
    return result


def patched(data: dict[str, Any], *operations: dict[str, Any]) -> dict[str, Any]:
    return run(USER, data, *operations).data


WORK = {"value": "bjensen@example.com", "type": "work", "primary": True}
HOME = {"value": "babs@jensen.org", "type": "home"}
BJENSEN: dict[str, Any] = {
    "userName": "bjensen",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "title": "Tour Guide",
    "active": True,
    "emails": [WORK, HOME],
    "addresses": [{"type": "work", "locality": "Hollywood"}],
    ENT: {"department": "Tours", "manager": {"value": "m0", "$ref": "https://x/Users/m0"}},
}


def but(**changes: Any) -> dict[str, Any]:
    """BJENSEN with top-level keys changed (None removes a key)."""
    out = copy.deepcopy(BJENSEN)
    for key, value in changes.items():
        key = ENT if key == "ENT" else key
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


# -- parse_patch -------------------------------------------------------------------------


def test_parse_patch_reads_every_shape() -> None:
    operations = parse_patch(
        {
            "Operations": [
                {"op": "Add", "path": "nickName", "value": "Babs"},
                {"OP": "REPLACE", "Value": {"active": False}},
                {"op": "remove", "Path": 'emails[type eq "work"].value'},
                {"op": "replace", "path": "title", "value": None},
                {"op": "add", "path": "", "value": {"title": "t"}},
            ],
            "SCHEMAS": [PATCH_OP.upper()],
        }
    )
    assert operations == [
        PatchOperation("add", PatchPath(AttrPath(None, "nickName")), "Babs"),
        PatchOperation("replace", None, {"active": False}),
        PatchOperation(
            "remove",
            PatchPath(AttrPath(None, "emails"), parse_value_filter('type eq "work"'), "value"),
        ),
        PatchOperation("replace", PatchPath(AttrPath(None, "title")), None),
        PatchOperation("add", None, {"title": "t"}),
    ]


def test_parse_patch_accepts_schemas_as_a_string() -> None:
    assert parse_patch({"schemas": PATCH_OP, "Operations": [{"op": "remove", "path": "title"}]})


PARSE_ERRORS = [
    pytest.param([], InvalidSyntax, id="body is an array"),
    pytest.param({"Operations": [{"op": "remove", "path": "x"}]}, InvalidSyntax, id="no schemas"),
    pytest.param(
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": []},
        InvalidSyntax,
        id="wrong schema",
    ),
    pytest.param({"schemas": [PATCH_OP]}, InvalidSyntax, id="no Operations"),
    pytest.param(body(), InvalidSyntax, id="empty Operations (RFC 7644 §3.5.2: one or more)"),
    pytest.param({"schemas": [PATCH_OP], "Operations": {"op": "add"}}, InvalidSyntax, id="object"),
    pytest.param(
        {"schemas": [PATCH_OP], "Operations": ["add"]}, InvalidSyntax, id="operation not an object"
    ),
    pytest.param(body({"path": "title", "value": "x"}), InvalidSyntax, id="no op"),
    pytest.param(
        body({"op": "merge", "path": "title", "value": "x"}), InvalidSyntax, id="unknown op"
    ),
    pytest.param(
        body({"op": 1, "path": "title", "value": "x"}), InvalidSyntax, id="op not a string"
    ),
    pytest.param(body({"op": "add", "path": 5, "value": "x"}), InvalidPath, id="path not a string"),
    pytest.param(
        body({"op": "add", "path": "emails[type eq]", "value": "x"}), InvalidPath, id="bad filter"
    ),
    pytest.param(
        body({"op": "add", "path": "a.b.c", "value": "x"}), InvalidPath, id="too many dots"
    ),
    pytest.param(body({"op": "add", "path": "title"}), InvalidValue, id="add without value"),
    pytest.param(body({"op": "add", "path": "title", "value": None}), InvalidValue, id="add null"),
    pytest.param(
        body({"op": "replace", "path": "title"}), InvalidValue, id="replace without value"
    ),
    pytest.param(
        body({"op": "replace", "value": "x"}), InvalidValue, id="path-less value not a map"
    ),
    pytest.param(
        body({"op": "add", "value": [{"title": "x"}]}), InvalidValue, id="path-less array"
    ),
    # RFC 7644 §3.5.2.2: "If "path" is unspecified, the operation fails with … "noTarget"."
    pytest.param(body({"op": "remove"}), NoTarget, id="remove without path"),
    pytest.param(body({"op": "remove", "value": {"title": "x"}}), NoTarget, id="remove with map"),
]


@pytest.mark.parametrize(("payload", "error"), PARSE_ERRORS)
def test_parse_patch_errors(payload: Any, error: type[ScimError]) -> None:
    with pytest.raises(error):
        parse_patch(payload)


# -- users: accepted operations ----------------------------------------------------------

USER_CASES = [
    # -- add (RFC 7644 §3.5.2.1) --
    pytest.param(
        [{"op": "add", "path": "nickName", "value": "Babs"}],
        but(nickName="Babs"),
        id="add: attribute that does not exist",
    ),
    pytest.param(
        [{"op": "Add", "path": "title", "value": "Boss"}],
        but(title="Boss"),
        id="add: single-valued replaces (Entra)",
    ),
    pytest.param(
        [{"op": "Add", "path": "active", "value": "False"}],
        but(active=False),
        id="add: active as string 'False' (rancher#54025)",
    ),
    pytest.param(
        [{"op": "add", "path": "emails", "value": [{"value": "x@example.org", "type": "other"}]}],
        but(emails=[WORK, HOME, {"value": "x@example.org", "type": "other"}]),
        id="add: multi-valued appends",
    ),
    pytest.param(
        [{"op": "add", "path": "emails", "value": {"value": "x@example.org"}}],
        but(emails=[WORK, HOME, {"value": "x@example.org"}]),
        id="add: single object to multi-valued",
    ),
    pytest.param(
        [
            {
                "op": "add",
                "path": "emails",
                "value": [{"value": "n@x.org"}, HOME, {"value": "n@x.org"}],
            }
        ],
        but(emails=[WORK, HOME, {"value": "n@x.org"}]),
        # RFC 7644 §3.5.2.1: "If the target location already contains the value specified,
        # no changes SHOULD be made to the resource".
        id="add: existing identical value is not duplicated",
    ),
    pytest.param(
        [{"op": "add", "path": "emails", "value": [{"value": "n@example.org", "primary": "true"}]}],
        but(
            emails=[
                {**WORK, "primary": False},
                HOME,
                {"value": "n@example.org", "primary": True},
            ]
        ),
        # RFC 7644 §3.5.2: primary true on one value sets it false on the others.
        id="add: new primary unsets the old one",
    ),
    pytest.param(
        [{"op": "add", "path": "name", "value": {"middleName": "Jane", "familyName": "J"}}],
        but(name={"givenName": "Barbara", "familyName": "J", "middleName": "Jane"}),
        id="add: complex merges sub-attributes",
    ),
    pytest.param(
        [{"op": "add", "path": "name.honorificPrefix", "value": "Ms."}],
        but(name={"givenName": "Barbara", "familyName": "Jensen", "honorificPrefix": "Ms."}),
        id="add: sub-attribute",
    ),
    pytest.param(
        [{"op": "add", "value": {"nickName": "Babs", "emails": [{"value": "n@example.org"}]}}],
        but(nickName="Babs", emails=[WORK, HOME, {"value": "n@example.org"}]),
        id="add: path-less map",
    ),
    pytest.param(
        [{"op": "add", "path": "title", "value": ""}],
        BJENSEN,
        id="add: empty string adds nothing",
    ),
    pytest.param(
        [{"op": "add", "path": "emails", "value": []}],
        BJENSEN,
        id="add: empty array adds nothing",
    ),
    # -- replace (RFC 7644 §3.5.2.3) --
    pytest.param(
        [{"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}],
        but(name={"givenName": "Barbara", "familyName": "updatedFamilyName"}),
        id="replace: sub-attribute",
    ),
    pytest.param(
        [{"op": "replace", "path": "name", "value": {"givenName": "B"}}],
        but(name={"givenName": "B", "familyName": "Jensen"}),
        id="replace: complex keeps unspecified sub-attributes",
    ),
    pytest.param(
        [{"op": "replace", "path": "emails", "value": [{"value": "only@example.org"}]}],
        but(emails=[{"value": "only@example.org"}]),
        id="replace: multi-valued without filter replaces all",
    ),
    pytest.param(
        [{"op": "replace", "path": "emails", "value": []}],
        but(emails=None),
        id="replace: empty array unassigns",
    ),
    pytest.param(
        [{"op": "replace", "path": "title", "value": None}],
        but(title=None),
        id="replace: null unassigns (RFC 7643 §2.5)",
    ),
    pytest.param(
        [{"op": "replace", "path": "title", "value": ""}],
        but(title=None),
        id="replace: empty string unassigns",
    ),
    pytest.param(
        [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@example.org"}],
        but(emails=[{**WORK, "value": "new@example.org"}, HOME]),
        id="replace: filtered sub-attribute",
    ),
    pytest.param(
        [{"op": "replace", "path": 'EMAILS[TYPE EQ "WORK"].VALUE', "value": "new@example.org"}],
        but(emails=[{**WORK, "value": "new@example.org"}, HOME]),
        id="replace: path case-insensitive, type compared case-insensitively",
    ),
    pytest.param(
        [{"op": "replace", "path": 'emails[type eq "home"]', "value": {"value": "h@example.org"}}],
        but(emails=[WORK, {"value": "h@example.org", "type": "home"}]),
        id="replace: filtered element merges",
    ),
    pytest.param(
        [{"op": "replace", "path": 'emails[type eq "home"]', "value": [{"display": "H"}]}],
        but(emails=[WORK, {**HOME, "display": "H"}]),
        id="replace: filtered element given as a one-element array",
    ),
    pytest.param(
        [{"op": "replace", "path": 'emails[value co "@"].type', "value": "other"}],
        but(emails=[{**WORK, "type": "other"}, {**HOME, "type": "other"}]),
        id="replace: every matching element",
    ),
    pytest.param(
        [{"op": "replace", "path": 'emails[type eq "home"].primary', "value": True}],
        but(emails=[{**WORK, "primary": False}, {**HOME, "primary": True}]),
        id="replace: primary moves to the filtered element",
    ),
    pytest.param(
        [{"op": "replace", "path": 'emails[type eq "other"].value', "value": "o@example.org"}],
        but(emails=[WORK, HOME, {"type": "other", "value": "o@example.org"}]),
        id="replace: filter matching nothing creates the element (Entra)",
    ),
    pytest.param(
        [{"op": "replace", "path": "emails.display", "value": "E"}],
        but(emails=[{**WORK, "display": "E"}, {**HOME, "display": "E"}]),
        id="replace: sub-attribute of every element without filter",
    ),
    pytest.param(
        [{"op": "replace", "path": 'emails[type eq "home"].type', "value": None}],
        but(emails=[WORK, {"value": HOME["value"]}]),
        id="replace: null sub-attribute through a filter unassigns it",
    ),
    pytest.param(
        [{"op": "replace", "path": 'emails[type eq "home"]', "value": None}],
        but(emails=[WORK]),
        id="replace: null element through a filter removes it",
    ),
    pytest.param(
        [{"op": "replace", "value": {"active": False}}],
        but(active=False),
        id="okta: path-less deactivate",
    ),
    pytest.param(
        [
            {
                "op": "replace",
                "value": {"id": "x", "meta": {"created": "bad"}, "schemas": [], "title": "T"},
            }
        ],
        but(title="T"),
        id="okta: path-less map with readOnly keys ignored",
    ),
    pytest.param(
        [{"op": "replace", "value": {"password": "secret", "groups": [{"value": "g"}]}}],
        BJENSEN,
        id="okta: password sync accepted and discarded",
    ),
    pytest.param(
        [
            {
                "op": "replace",
                "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "NAME.FAMILYNAME": "Unua",
                    f"{ENT}:employeeNumber": "Aklq",
                },
            }
        ],
        but(
            displayName="Bjfe",
            name={"givenName": "Kkom", "familyName": "Unua"},
            ENT={**BJENSEN[ENT], "employeeNumber": "Aklq"},
        ),
        id="entra: path-less map with dotted and URN keys",
    ),
    pytest.param(
        [{"op": "replace", "value": {"unknownThing": 1, "urn:example:x:2.0:User:y": 2, "a b": 3}}],
        BJENSEN,
        id="path-less map: unknown keys ignored like in a POST",
    ),
    pytest.param(
        [{"op": "replace", "value": {"name": {"givenName": "G"}, "emails": {"value": "e@x.org"}}}],
        but(name={"givenName": "G", "familyName": "Jensen"}, emails=[{"value": "e@x.org"}]),
        id="path-less map: complex merges, multi-valued replaces",
    ),
    pytest.param(
        [{"op": "replace", "path": ENT, "value": {"department": "D", "costCenter": "C"}}],
        but(ENT={**BJENSEN[ENT], "department": "D", "costCenter": "C"}),
        id="replace: whole extension merges its attributes",
    ),
    pytest.param(
        [{"op": "replace", "value": {ENT: {"department": None, "division": "V"}}}],
        but(ENT={"manager": BJENSEN[ENT]["manager"], "division": "V"}),
        id="path-less map: extension object",
    ),
    # -- extension and manager (Entra) --
    pytest.param(
        [{"op": "Add", "path": f"{ENT}:department", "value": "Retail"}],
        but(ENT={**BJENSEN[ENT], "department": "Retail"}),
        id="entra: URN-qualified extension path",
    ),
    pytest.param(
        [{"op": "add", "path": f"{ENT}:manager", "value": "2c2f6fb8"}],
        but(ENT={"department": "Tours", "manager": {"value": "2c2f6fb8"}}),
        id="entra: manager as bare string (old $ref dropped)",
    ),
    pytest.param(
        [
            {
                "op": "Add",
                "path": "manager",
                "value": [{"$ref": "https://x/Users/m1", "value": "m1"}],
            }
        ],
        but(ENT={"department": "Tours", "manager": {"$ref": "https://x/Users/m1", "value": "m1"}}),
        id="entra: unqualified manager path with one-element array",
    ),
    pytest.param(
        [{"op": "replace", "path": f"{ENT}:manager.value", "value": "m0"}],
        BJENSEN,
        id="manager.value unchanged keeps $ref",
    ),
    pytest.param(
        [{"op": "remove", "path": f"{ENT}:manager"}],
        but(ENT={"department": "Tours"}),
        id="remove manager",
    ),
    pytest.param(
        [{"op": "remove", "path": f"{ENT}:manager"}, {"op": "remove", "path": f"{ENT}:department"}],
        but(ENT=None),
        id="emptied extension disappears",
    ),
    pytest.param(
        [{"op": "remove", "path": ENT}],
        but(ENT=None),
        id="remove whole extension",
    ),
    pytest.param(
        [{"op": "add", "path": "urn:example:custom:2.0:User:costCenter", "value": "x"}],
        BJENSEN,
        id="unknown schema URN ignored like in a POST",
    ),
    pytest.param(
        [{"op": "add", "path": "password", "value": "secret"}],
        BJENSEN,
        id="password path accepted and discarded",
    ),
    pytest.param(
        [{"op": "add", "path": "schemas", "value": [ENT]}],
        BJENSEN,
        id="schemas path is a no-op",
    ),
    pytest.param(
        [
            {
                "op": "add",
                "path": "urn:ietf:params:scim:schemas:core:2.0:User:nickName",
                "value": "B",
            }
        ],
        but(nickName="B"),
        id="core-URN-qualified path",
    ),
    # -- filtered writes that create (SCIM-SDK#680) --
    pytest.param(
        [
            {"op": "add", "path": 'addresses[type eq "home"].formatted', "value": "F"},
            {"op": "add", "path": 'addresses[type eq "home"].locality', "value": "L"},
            {"op": "add", "path": 'addresses[type eq "home"].region', "value": "R"},
        ],
        but(
            addresses=[
                {"type": "work", "locality": "Hollywood"},
                {"type": "home", "formatted": "F", "locality": "L", "region": "R"},
            ]
        ),
        id="entra: several adds on one new filtered element merge into ONE",
    ),
    pytest.param(
        [
            {
                "op": "add",
                "path": 'emails[type eq "other" and primary eq true].value',
                "value": "p@x.org",
            }
        ],
        but(
            emails=[
                {**WORK, "primary": False},
                HOME,
                {"type": "other", "primary": True, "value": "p@x.org"},
            ]
        ),
        id="created element from an and-filter, primary moves",
    ),
    pytest.param(
        [{"op": "add", "path": 'addresses[type eq "work"]', "value": {"country": "US"}}],
        but(addresses=[{"type": "work", "locality": "Hollywood", "country": "US"}]),
        id="add: filtered element merges",
    ),
    # -- remove (RFC 7644 §3.5.2.2) --
    pytest.param(
        [{"op": "remove", "path": "title"}],
        but(title=None),
        id="remove: single-valued",
    ),
    pytest.param(
        [{"op": "remove", "path": "nickName"}],
        BJENSEN,
        id="remove: absent attribute is a no-op",
    ),
    pytest.param(
        [{"op": "remove", "path": "emails"}],
        but(emails=None),
        id="remove: multi-valued without filter",
    ),
    pytest.param(
        [{"op": "remove", "path": 'emails[type eq "work"]'}],
        but(emails=[HOME]),
        id="remove: filtered elements",
    ),
    pytest.param(
        [{"op": "remove", "path": 'emails[type eq "other"]'}],
        BJENSEN,
        id="remove: filter matching nothing is a no-op",
    ),
    pytest.param(
        [{"op": "remove", "path": 'emails[value co "@"]'}],
        but(emails=None),
        id="remove: last elements unassign the attribute",
    ),
    pytest.param(
        [{"op": "remove", "path": 'emails[type eq "work"].primary'}],
        but(emails=[{"value": WORK["value"], "type": "work"}, HOME]),
        id="remove: filtered sub-attribute",
    ),
    pytest.param(
        [{"op": "remove", "path": 'addresses[type eq "work"].locality'}],
        but(addresses=[{"type": "work"}]),
        id="remove: filtered sub-attribute keeps the rest",
    ),
    pytest.param(
        [
            {"op": "remove", "path": "addresses.locality"},
            {"op": "remove", "path": "addresses.type"},
        ],
        but(addresses=None),
        id="remove: sub-attribute of every element, emptied elements dropped",
    ),
    pytest.param(
        [{"op": "remove", "path": "name.givenName"}],
        but(name={"familyName": "Jensen"}),
        id="remove: sub-attribute of complex",
    ),
    pytest.param(
        [{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}],
        but(name=None),
        id="remove: emptied complex disappears",
    ),
    pytest.param(
        [{"op": "Remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]}],
        but(emails=[WORK]),
        id="remove: Entra value array removes only the listed (caseExact=false)",
    ),
    pytest.param(
        [
            {
                "op": "Remove",
                "path": "emails",
                "value": [{"value": "babs@jensen.org", "type": "work"}],
            }
        ],
        BJENSEN,
        id="remove: value array entries match on every given sub-attribute",
    ),
    pytest.param(
        [{"op": "Remove", "path": "emails", "value": []}],
        BJENSEN,
        id="remove: empty value array removes nothing",
    ),
    pytest.param(
        [
            {"op": "replace", "path": "nickName", "value": "Babs"},
            {"op": "remove", "path": "nickName"},
        ],
        BJENSEN,
        id="operations apply in order",
    ),
]


@pytest.mark.parametrize(("operations", "expected"), USER_CASES)
def test_user_patch(operations: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    result = run(USER, BJENSEN, *operations)
    assert result.data == expected
    assert result.member_changes == []
    # The result is normalized like a POST body would be.
    assert normalize(USER, result.data) == result.data


# -- users: rejected operations ----------------------------------------------------------

USER_ERRORS = [
    pytest.param(
        {"op": "replace", "path": "id", "value": "x"}, Mutability, id="path to readOnly id"
    ),
    pytest.param({"op": "remove", "path": "meta"}, Mutability, id="remove readOnly meta"),
    pytest.param(
        {"op": "replace", "path": "meta.lastModified", "value": "2020-01-01T00:00:00Z"},
        Mutability,
        id="readOnly sub-attribute of meta",
    ),
    pytest.param(
        {"op": "add", "path": "groups", "value": [{"value": "g"}]}, Mutability, id="groups"
    ),
    pytest.param(
        {"op": "add", "path": f"{ENT}:manager.displayName", "value": "Boss"},
        Mutability,
        id="readOnly manager.displayName",
    ),
    # RFC 7644 §3.5.2.2: "If an attribute is removed or becomes unassigned and is defined
    # as a required attribute … "mutability"."
    pytest.param({"op": "remove", "path": "userName"}, Mutability, id="remove required userName"),
    pytest.param(
        {"op": "replace", "path": "userName", "value": None}, Mutability, id="null userName"
    ),
    pytest.param(
        {"op": "replace", "value": {"userName": ""}}, Mutability, id="empty userName in map"
    ),
    pytest.param({"op": "add", "path": "nope", "value": "x"}, InvalidPath, id="unknown attribute"),
    pytest.param({"op": "add", "path": "name.nope", "value": "x"}, InvalidPath, id="unknown sub"),
    pytest.param(
        {"op": "add", "path": 'emails[type eq "w"].nope', "value": "x"}, InvalidPath, id="sub"
    ),
    pytest.param(
        {"op": "remove", "path": 'emails[nope eq "w"]'}, InvalidPath, id="unknown in filter"
    ),
    pytest.param(
        {"op": "add", "path": 'title[value eq "x"]', "value": "x"}, InvalidPath, id="filter"
    ),
    pytest.param(
        {"op": "add", "path": 'name[givenName eq "x"]', "value": {}}, InvalidPath, id="filter2"
    ),
    pytest.param({"op": "add", "path": f"{ENT}:nope", "value": "x"}, InvalidPath, id="ext unknown"),
    pytest.param(
        {"op": "replace", "path": "active", "value": "yes"}, InvalidValue, id="boolean 'yes'"
    ),
    pytest.param({"op": "replace", "path": "active", "value": 0}, InvalidValue, id="boolean 0"),
    pytest.param({"op": "replace", "value": {"active": "no"}}, InvalidValue, id="boolean in map"),
    pytest.param(
        {"op": "replace", "path": "title", "value": ["a", "b"]}, InvalidValue, id="two values"
    ),
    pytest.param({"op": "replace", "path": "title", "value": {"x": 1}}, InvalidValue, id="object"),
    pytest.param(
        {"op": "replace", "path": "name", "value": "B"}, InvalidValue, id="complex string"
    ),
    pytest.param({"op": "add", "path": "emails", "value": [5]}, InvalidValue, id="element number"),
    pytest.param({"op": "add", "path": "emails", "value": "a@x.org"}, InvalidValue, id="email str"),
    pytest.param({"op": "replace", "path": "title", "value": 5}, InvalidValue, id="string given 5"),
    pytest.param({"op": "replace", "path": ENT, "value": "x"}, InvalidValue, id="extension string"),
    pytest.param(
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
        },
        InvalidValue,
        id="two new primaries (RFC 7643 §2.4)",
    ),
    pytest.param(
        {"op": "replace", "path": "emails.primary", "value": True},
        InvalidValue,
        id="primary on every element",
    ),
    pytest.param(
        {"op": "replace", "path": 'emails[value co "nobody"].value', "value": "x"},
        NoTarget,
        id="non-eq filter matching nothing cannot create (noTarget)",
    ),
    pytest.param(
        {"op": "replace", "path": 'emails[type eq "other"].type', "value": "home"},
        InvalidValue,
        id="created element contradicting its filter",
    ),
]


@pytest.mark.parametrize(("operation", "error"), USER_ERRORS)
def test_user_patch_errors(operation: dict[str, Any], error: type[ScimError]) -> None:
    data = copy.deepcopy(BJENSEN)
    with pytest.raises(error):
        apply_patch(USER, data, parse_patch(body(operation)))
    assert data == BJENSEN


def test_error_after_successful_operations_leaves_input_untouched() -> None:
    data = copy.deepcopy(BJENSEN)
    operations = parse_patch(
        body(
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "x@y.org"},
            {"op": "add", "path": f"{ENT}:costCenter", "value": "C"},
            {"op": "remove", "path": "userName"},
        )
    )
    with pytest.raises(Mutability):
        apply_patch(USER, data, operations)
    assert data == BJENSEN


def test_required_attribute_cannot_be_removed_even_if_re_added() -> None:
    """RFC 7644 §3.5.2.2 judges each operation: the remove itself is the error (as in
    scim2-models), even if a later operation of the request would set a new value."""
    operations = parse_patch(
        body(
            {"op": "remove", "path": "userName"},
            {"op": "add", "path": "userName", "value": "b2"},
        )
    )
    with pytest.raises(Mutability):
        apply_patch(USER, BJENSEN, operations)
    replaced = parse_patch(body({"op": "replace", "path": "userName", "value": "b2"}))
    assert apply_patch(USER, BJENSEN, replaced).data == but(userName="b2")


def test_changed_containers_are_copies_unchanged_ones_shared() -> None:
    """Copy-on-write: what an operation changes is new; the rest is shared (cheap)."""
    result = patched(
        BJENSEN,
        {"op": "add", "path": f"{ENT}:costCenter", "value": "C"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "n@x.org"},
    )
    assert result is not BJENSEN
    assert result[ENT] is not BJENSEN[ENT]
    assert result["emails"] is not BJENSEN["emails"]
    assert result["emails"][1] is BJENSEN["emails"][1]
    assert result["name"] is BJENSEN["name"]


# -- immutable attributes (RFC 7644 §3.5.2: "a client MAY "add" a value to an
# "immutable" attribute if the attribute had no previous value") ------------------------

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
            Attribute("serial", mutability="immutable", case_exact=True),
            Attribute("color"),
            Attribute(
                "spec",
                "complex",
                sub_attributes=(Attribute("model", mutability="immutable"), Attribute("size")),
            ),
        ),
    ),
)


@pytest.mark.parametrize(
    ("data", "operation", "expected"),
    [
        ({}, {"op": "add", "path": "serial", "value": "S"}, {"serial": "S"}),
        ({"serial": "S"}, {"op": "replace", "path": "serial", "value": "S"}, {"serial": "S"}),
        (
            {"serial": "S"},
            {"op": "replace", "value": {"color": "red"}},
            {"serial": "S", "color": "red"},
        ),
        (
            {"spec": {"size": 1}},
            {"op": "add", "path": "spec.model", "value": "M"},
            {"spec": {"size": 1, "model": "M"}},
        ),
        (
            {"spec": {"model": "M"}},
            {"op": "add", "path": "spec.size", "value": "2"},
            {"spec": {"model": "M", "size": "2"}},
        ),
    ],
)
def test_immutable_allowed(
    data: dict[str, Any], operation: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert run(WIDGET, data, operation).data == expected


@pytest.mark.parametrize(
    ("data", "operation"),
    [
        ({"serial": "S"}, {"op": "replace", "path": "serial", "value": "T"}),
        ({"serial": "S"}, {"op": "remove", "path": "serial"}),
        ({"serial": "S"}, {"op": "replace", "value": {"serial": "s"}}),
        ({"spec": {"model": "M"}}, {"op": "replace", "path": "spec.model", "value": "N"}),
        ({"spec": {"model": "M"}}, {"op": "remove", "path": "spec"}),
    ],
)
def test_immutable_changed_is_mutability(data: dict[str, Any], operation: dict[str, Any]) -> None:
    with pytest.raises(Mutability):
        apply_patch(WIDGET, data, parse_patch(body(operation)))


# -- groups: members become MemberChanges ------------------------------------------------

GROUP_DATA = {"displayName": "Tour Guides", "externalId": "e1"}


def value_filter(text: str) -> Any:
    return parse_value_filter(text)


GROUP_CASES = [
    pytest.param(
        [{"op": "Add", "path": "members", "value": [{"$ref": None, "value": "u1"}]}],
        [MemberChange("add", ({"value": "u1"},))],
        id="entra: add with $ref null",
    ),
    pytest.param(
        [
            {
                "op": "add",
                "path": "members",
                "value": [{"value": "u1", "display": "steve"}, {"value": "u2"}],
            }
        ],
        [MemberChange("add", ({"value": "u1", "display": "steve"}, {"value": "u2"}))],
        id="okta: add with display, no type",
    ),
    pytest.param(
        [{"op": "add", "path": "members", "value": {"value": "g2", "type": "group"}}],
        [MemberChange("add", ({"value": "g2", "type": "Group"},))],
        id="single object, type canonicalized",
    ),
    pytest.param(
        [{"op": "add", "path": "members", "value": []}],
        [],
        id="add nothing",
    ),
    pytest.param(
        [{"op": "remove", "path": 'members[value eq "u2"]'}],
        [MemberChange("remove", filter=value_filter('value eq "u2"'))],
        id="okta/entra-flag: remove by filter",
    ),
    pytest.param(
        [{"op": "remove", "path": 'members[value eq "u2" or value eq "u3"]'}],
        [
            MemberChange(
                "remove",
                filter=Or(
                    Compare(AttrPath(None, "value"), "eq", "u2"),
                    Compare(AttrPath(None, "value"), "eq", "u3"),
                ),
            )
        ],
        id="remove by or-filter",
    ),
    pytest.param(
        [{"op": "Remove", "path": "members", "value": [{"$ref": None, "value": "u1"}]}],
        [MemberChange("remove", ({"value": "u1"},))],
        # azure-docs#30826: a server ignoring `value` here deletes every member.
        id="entra-default/jumpcloud: remove with value array removes only those",
    ),
    pytest.param(
        [{"op": "remove", "path": "members", "value": []}],
        [],
        id="remove with empty value array removes nothing",
    ),
    pytest.param(
        [{"op": "remove", "path": "members"}],
        [MemberChange("remove")],
        id="remove all members",
    ),
    pytest.param(
        [{"op": "replace", "path": "members", "value": [{"value": "u1"}, {"value": "u1"}]}],
        [MemberChange("replace", ({"value": "u1"},))],
        id="okta: full push replace",
    ),
    pytest.param(
        [{"op": "replace", "path": "members", "value": []}],
        [MemberChange("replace", ())],
        id="okta: empty group push",
    ),
    pytest.param(
        [{"op": "replace", "value": {"members": [{"value": "u9"}]}}],
        [MemberChange("replace", ({"value": "u9"},))],
        id="path-less replace with members",
    ),
    pytest.param(
        [{"op": "add", "value": {"members": [{"value": "u9"}]}}],
        [MemberChange("add", ({"value": "u9"},))],
        id="path-less add with members",
    ),
    pytest.param(
        [
            {"op": "remove", "path": 'members[value eq "u2"]'},
            {"op": "add", "path": "members", "value": [{"value": "u1"}]},
            {"op": "remove", "path": "MEMBERS", "value": {"value": "u3"}},
        ],
        [
            MemberChange("remove", filter=value_filter('value eq "u2"')),
            MemberChange("add", ({"value": "u1"},)),
            MemberChange("remove", ({"value": "u3"},)),
        ],
        id="member changes keep their order",
    ),
]


@pytest.mark.parametrize(("operations", "changes"), GROUP_CASES)
def test_group_members(operations: list[dict[str, Any]], changes: list[MemberChange]) -> None:
    result = run(GROUP, GROUP_DATA, *operations)
    assert result.member_changes == changes
    assert result.data == GROUP_DATA  # members never land in the data dict


def test_group_rename_with_readonly_id_and_members() -> None:
    """Okta sends the rename with `id` (readOnly, ignored) in the value map."""
    result = run(
        GROUP,
        GROUP_DATA,
        {"op": "replace", "value": {"id": "g1", "displayName": "New", "members": [{"value": "u"}]}},
    )
    assert result.data == {**GROUP_DATA, "displayName": "New"}
    assert result.member_changes == [MemberChange("replace", ({"value": "u"},))]


@pytest.mark.parametrize(
    ("operation", "error"),
    [
        pytest.param(
            {"op": "remove", "path": "displayName"}, Mutability, id="required displayName"
        ),
        pytest.param(
            {"op": "add", "path": "members", "value": [{"display": "x"}]},
            InvalidValue,
            id="no value",
        ),
        pytest.param(
            {"op": "add", "path": "members", "value": [{"value": "u", "type": "Robot"}]},
            InvalidValue,
            id="type",
        ),
        pytest.param(
            {"op": "remove", "path": "members", "value": [{"type": "User"}]},
            InvalidValue,
            id="remove w/o value",
        ),
        pytest.param(
            {"op": "replace", "path": 'members[value eq "u"].value', "value": "v"},
            Mutability,
            id="immutable",
        ),
        pytest.param(
            {"op": "add", "path": 'members[value eq "u"]', "value": {"value": "u"}},
            Mutability,
            id="filtered add",
        ),
        pytest.param(
            {"op": "remove", "path": "members.value"}, Mutability, id="member sub-attribute"
        ),
        pytest.param(
            {"op": "remove", "path": 'members[value eq "u"].display'},
            Mutability,
            id="readOnly display",
        ),
        pytest.param(
            {"op": "remove", "path": 'members[nope eq "u"]'},
            InvalidPath,
            id="unknown filter attribute",
        ),
    ],
)
def test_group_errors(operation: dict[str, Any], error: type[ScimError]) -> None:
    with pytest.raises(error):
        apply_patch(GROUP, dict(GROUP_DATA), parse_patch(body(operation)))


def test_members_of_a_user_are_unknown() -> None:
    with pytest.raises(InvalidPath):
        apply_patch(USER, BJENSEN, parse_patch(body({"op": "add", "path": "members", "value": []})))


# -- the corpus (behaviour.md §9): every PATCH body, its exact result ------------------

USER_BEFORE = normalize(
    USER,
    {
        "userName": "Test_User_00aa00aa",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "old@testuser.com"}],
        "name": {"givenName": "givenName", "familyName": "familyName"},
        ENT: {"department": "Tours"},
    },
)


def _user(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(USER_BEFORE)
    for key, value in changes.items():
        out[ENT if key == "ENT" else key] = value
    return out


# step → (expected data, expected member changes); user steps start from USER_BEFORE,
# group steps from GROUP_DATA.
CORPUS_EXPECTED: dict[str, tuple[dict[str, Any], list[MemberChange]]] = {
    "deactivate (OIN: PATCH, no path)": (_user(active=False), []),
    "reactivate (OIN: PATCH active=true)": (_user(), []),
    "password sync (OIN PATCH)": (_user(), []),
    "group: rename (OIN PATCH, value has read-only id)": (
        {**GROUP_DATA, "displayName": "Test SCIMv2"},
        [],
    ),
    "group: remove + add members": (
        GROUP_DATA,
        [
            MemberChange("remove", filter=value_filter('value eq "{userId2}"')),
            MemberChange("add", ({"value": "{userId}", "display": "test.user@okta.local"},)),
        ],
    ),
    "group: full push replace members": (
        GROUP_DATA,
        [
            MemberChange(
                "replace",
                (
                    {"value": "{userId}", "display": "test.user@okta.local"},
                    {"value": "{userId2}", "display": "test.user@okta.local"},
                ),
            )
        ],
    ),
    "group: push empty group": (GROUP_DATA, [MemberChange("replace", ())]),
    "update multi-valued (email) + name": (
        _user(
            emails=[{"primary": True, "type": "work", "value": "updatedEmail@microsoft.com"}],
            name={"givenName": "givenName", "familyName": "updatedFamilyName"},
        ),
        [],
    ),
    "update single-valued (rename userName)": (
        _user(userName="5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"),
        [],
    ),
    "update mixed (real tenant)": (
        _user(
            emails=[{"primary": True, "type": "work", "value": "AdeleV2@REDACTED.onmicrosoft.com"}],
            addresses=[{"type": "work", "formatted": "18/2111"}],
            ENT={"department": "Retail"},
        ),
        [],
    ),
    "update: Add sub-attributes of not-yet-existing work address": (
        _user(
            addresses=[
                {
                    "type": "work",
                    "formatted": "USZLTUSJXBYV",
                    "locality": "OSGODHEVDCVD",
                    "region": "YMVMOEMXAYGD",
                }
            ]
        ),
        [],
    ),
    "update manager (string value)": (
        _user(
            ENT={
                "department": "Tours",
                "manager": {"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"},
            }
        ),
        [],
    ),
    "update manager (doc form: path 'manager', array value)": (
        _user(
            ENT={
                "department": "Tours",
                "manager": {
                    "$ref": "http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
                    "value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
                },
            }
        ),
        [],
    ),
    "update roles (app role assignments)": (
        _user(
            roles=[
                {"value": json.dumps(role, separators=(",", ":"))}
                for role in (
                    {
                        "id": "827f0d2e-be15-4d8f-a8e3-f8697239c112",
                        "value": "DocumentMgmt-Admin",
                        "displayName": "DocumentMgmt Admin",
                    },
                    {
                        "id": "8ae06bd4-35bb-4fcd-977e-14e074ad1192",
                        "value": "Admin",
                        "displayName": "Admin",
                    },
                )
            ]
        ),
        [],
    ),
    "update single-value Add (default mode)": (_user(nickName="Babs"), []),
    "update multiple attrs (aadOptscim062020 mode)": (
        _user(
            emails=[{"primary": True, "type": "work", "value": "TestMhvaes@test.microsoft.com"}],
            displayName="Bjfe",
            name={"givenName": "Kkom", "familyName": "Unua"},
            ENT={"department": "Tours", "employeeNumber": "Aklq"},
        ),
        [],
    ),
    "disable (default mode: string 'False')": (_user(active=False), []),
    "disable (aadOptscim062020 mode)": (_user(active=False), []),
    "disable (tutorial form, Operations before schemas)": (_user(active=False), []),
    "disable (lowercase string 'false')": (_user(active=False), []),
    "disable via op 'Add'": (_user(active=False), []),
    "re-enable": (_user(), []),
    "rename group": (
        {**GROUP_DATA, "displayName": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"},
        [],
    ),
    "add member": (GROUP_DATA, [MemberChange("add", ({"value": "{userId}"},))]),
    "remove member (default mode: value array)": (
        GROUP_DATA,
        [MemberChange("remove", ({"value": "{userId}"},))],
    ),
    "remove member (aadOptscim062020 mode)": (
        GROUP_DATA,
        [
            MemberChange(
                "remove", filter=value_filter('value eq "7f4bc1a3-285e-48ae-8202-5accb43efb0e"')
            )
        ],
    ),
}


def _corpus_patches() -> list[Any]:
    cases = []
    for line in CORPUS.read_text().splitlines():
        entry = json.loads(line)
        if entry["method"] == "PATCH":
            cases.append(pytest.param(entry, id=f"{entry['idp']}: {entry['step']}"))
    return cases


def test_every_corpus_patch_has_an_expectation() -> None:
    steps = {p.values[0]["step"] for p in _corpus_patches()}
    assert steps == set(CORPUS_EXPECTED)


@pytest.mark.parametrize("entry", _corpus_patches())
def test_corpus_patch(entry: dict[str, Any]) -> None:
    rt = GROUP if entry["path"].startswith("/Groups") else USER
    data = USER_BEFORE if rt is USER else GROUP_DATA
    before = copy.deepcopy(data)
    result = apply_patch(rt, data, parse_patch(entry["body"]))
    expected_data, expected_changes = CORPUS_EXPECTED[entry["step"]]
    assert result.data == expected_data
    assert result.member_changes == expected_changes
    assert data == before


def test_entra_readback_is_stable() -> None:
    """Entra re-patches when what it reads back differs (behaviour.md §0.12): applying the
    same corpus PATCH again changes nothing."""
    for param in _corpus_patches():
        entry = param.values[0]
        if entry["path"].startswith("/Users"):
            operations = parse_patch(entry["body"])
            once = apply_patch(USER, USER_BEFORE, operations).data
            assert apply_patch(USER, once, operations).data == once, entry["step"]
