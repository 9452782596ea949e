"""Properties of the PATCH engine (RFC 7644 §3.5.2) on generated users and operations."""

from __future__ import annotations

import copy
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimhub.scim.errors import ScimError
from scimhub.scim.patch import MemberChange, PatchResult, apply_patch, parse_patch
from scimhub.scim.resource import normalize
from scimhub.scim.schema import ENTERPRISE_USER_URN, GROUP, USER

ENT = ENTERPRISE_USER_URN
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
TYPES = ["work", "home", "other"]
MULTI = ("emails", "phoneNumbers", "addresses", "roles")

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- users --------------------------------------------------------------------------------

words = st.text(alphabet=string.ascii_letters + string.digits + " .-", min_size=1, max_size=10)
addresses_ = st.from_regex(r"[a-z]{1,6}@(example|corp)\.(com|org)", fullmatch=True)
types = st.sampled_from(TYPES)


@st.composite
def multi_values(draw: st.DrawFn, value: st.SearchStrategy[str], max_size: int = 3) -> list[Any]:
    values = draw(st.lists(value, max_size=max_size, unique=True))
    primary = draw(st.sampled_from([None, *range(len(values))]))
    out = []
    for i, v in enumerate(values):
        element: dict[str, Any] = {"value": v}
        if draw(st.booleans()):
            element["type"] = draw(types)
        if i == primary:
            element["primary"] = True
        out.append(element)
    return out


@st.composite
def users(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"userName": draw(words)}
    for attribute in ("title", "nickName", "displayName"):
        if draw(st.booleans()):
            data[attribute] = draw(words)
    if draw(st.booleans()):
        data["active"] = draw(st.booleans())
    name = draw(st.fixed_dictionaries({}, optional={"givenName": words, "familyName": words}))
    if name:
        data["name"] = name
    emails = draw(multi_values(addresses_))
    if emails:
        data["emails"] = emails
    addresses = draw(
        st.lists(st.fixed_dictionaries({"type": types}, optional={"locality": words}), max_size=2)
    )
    if addresses:
        data["addresses"] = addresses
    ext = draw(
        st.fixed_dictionaries(
            {}, optional={"department": words, "manager": st.builds(lambda v: {"value": v}, words)}
        )
    )
    if ext:
        data[ENT] = ext
    return data


def cased(op: str) -> st.SearchStrategy[str]:
    return st.sampled_from([op, op.upper(), op.capitalize()])


booleans = st.sampled_from([True, False, "True", "False", "true", "false", "TRUE"])
simple_paths = st.sampled_from(["title", "nickName", "displayName", "TITLE", "name.givenName"])


def _op(op: str, path: str | None, value: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"op": op}
    if path is not None:
        out["path"] = path
    if op.lower() != "remove" or value is not None:
        out["value"] = value
    return out


operations = st.one_of(
    st.builds(_op, st.sampled_from(["add", "replace"]).flatmap(cased), simple_paths, words),
    st.builds(_op, st.sampled_from(["add", "Replace"]), st.just("active"), booleans),
    st.builds(_op, cased("add"), st.just("emails"), multi_values(addresses_, max_size=2)),
    st.builds(
        _op,
        st.sampled_from(["add", "replace"]),
        types.map(lambda t: f'emails[type eq "{t}"].value'),
        addresses_,
    ),
    st.builds(
        _op,
        st.just("replace"),
        types.map(lambda t: f'emails[type eq "{t}"].primary'),
        st.just(True),
    ),
    st.builds(_op, cased("remove"), types.map(lambda t: f'emails[type eq "{t}"]')),
    st.builds(
        _op,
        st.just("add"),
        st.sampled_from(["locality", "region", "formatted"]).flatmap(
            lambda sub: types.map(lambda t: f'addresses[type eq "{t}"].{sub}')
        ),
        words,
    ),
    st.builds(
        _op,
        st.just("remove"),
        st.sampled_from(
            [
                "title",
                "nickName",
                "emails",
                "addresses",
                "name",
                "name.familyName",
                f"{ENT}:manager",
                ENT,
            ]
        ),
    ),
    st.builds(
        _op,
        st.sampled_from(["add", "replace"]),
        st.sampled_from([f"{ENT}:department", f"{ENT}:manager", f"{ENT}:costCenter"]),
        words,
    ),
    st.builds(
        _op,
        st.sampled_from(["add", "replace"]),
        st.none(),
        st.fixed_dictionaries(
            {},
            optional={
                "displayName": words,
                "name.givenName": words,
                f"{ENT}:employeeNumber": words,
                "active": booleans,
                "id": words,
                "meta": st.just({"resourceType": "User"}),
            },
        ),
    ),
)


def apply(data: dict[str, Any], *ops: dict[str, Any]) -> PatchResult:
    return apply_patch(USER, data, parse_patch({"schemas": [PATCH_OP], "Operations": list(ops)}))


def primaries(data: dict[str, Any]) -> dict[str, int]:
    return {name: sum(1 for e in data.get(name, []) if e.get("primary") is True) for name in MULTI}


@SETTINGS
@given(users())
def test_generated_users_are_normalized(user: dict[str, Any]) -> None:
    assert normalize(USER, user) == user


@SETTINGS
@given(users(), st.lists(operations, min_size=1, max_size=5))
def test_invariants(user: dict[str, Any], ops: list[dict[str, Any]]) -> None:
    """Never mutates its input; the result has at most one primary per attribute (RFC 7643
    §2.4) and is normalized (re-normalizing it changes nothing); members stay empty."""
    user_before, ops_before = copy.deepcopy(user), copy.deepcopy(ops)
    try:
        result = apply(user, *ops)
    except ScimError as exc:
        assert exc.status == 400
        assert user == user_before and ops == ops_before
        return
    assert user == user_before and ops == ops_before
    assert all(n <= 1 for n in primaries(result.data).values())
    assert normalize(USER, result.data) == result.data
    assert result.member_changes == []


@SETTINGS
@given(users(), operations)
def test_every_single_operation_is_idempotent(user: dict[str, Any], op: dict[str, Any]) -> None:
    """Applying an operation twice is applying it once (RFC 7644 §3.5.2.1: an add of a value
    already there changes nothing). Entra re-sends what it sees differ, so this must hold."""
    try:
        once = apply(user, op).data
    except ScimError:
        return
    assert apply(once, op).data == once


@SETTINGS
@given(
    users(), addresses_, types, st.sampled_from([f"{ENT}:costCenter", "nickName", "title"]), words
)
def test_remove_after_add_restores(
    user: dict[str, Any], email: str, kind: str, path: str, word: str
) -> None:
    """Adding a value the user does not have and removing it gives back the original."""
    user.pop("title", None)
    user.pop("nickName", None)
    user.get(ENT, {}).pop("costCenter", None)
    existing = [e for e in user.get("emails", []) if e.get("type") == kind]
    if existing:
        user["emails"] = [e for e in user["emails"] if e.get("type") != kind] or None
        if user["emails"] is None:
            del user["emails"]
    element = {"value": email, "type": kind}
    added = apply(user, {"op": "add", "path": "emails", "value": [element]}).data
    assert element in added["emails"]
    assert apply(added, {"op": "remove", "path": f'emails[type eq "{kind}"]'}).data == user
    set_ = apply(user, {"op": "add", "path": path, "value": word}).data
    assert set_ != user
    assert apply(set_, {"op": "remove", "path": path}).data == user


@SETTINGS
@given(users(), st.sampled_from(["displayName", "name.givenName", f"{ENT}:department"]), words)
def test_pathless_map_equals_path(user: dict[str, Any], path: str, value: str) -> None:
    """Entra's path-less map keyed by paths means the same as one operation per path."""
    by_map = apply(user, {"op": "replace", "value": {path: value}}).data
    by_path = apply(user, {"op": "replace", "path": path, "value": value}).data
    assert by_map == by_path


@SETTINGS
@given(users(), st.booleans(), st.sampled_from(["add", "Add", "ADD", "replace", "Replace"]))
def test_op_case_and_boolean_strings(user: dict[str, Any], active: bool, op: str) -> None:
    """Entra's "Replace"/"Add" with "False" is replace with false (behaviour.md §0.1-2)."""
    expected = apply(user, {"op": "replace", "path": "active", "value": active}).data
    assert expected["active"] is active
    for text in (str(active), str(active).lower(), str(active).upper()):
        assert apply(user, {"op": op, "path": "active", "value": text}).data == expected


@SETTINGS
@given(users(), addresses_, types)
def test_filtered_write_creates_then_updates_one_element(
    user: dict[str, Any], email: str, kind: str
) -> None:
    """`replace emails[type eq T].value` makes sure exactly the T elements carry the value,
    creating one when there is none (Entra)."""
    result = apply(
        user, {"op": "replace", "path": f'emails[type eq "{kind}"].value', "value": email}
    )
    typed = [e for e in result.data["emails"] if e.get("type") == kind]
    assert typed and all(e["value"] == email for e in typed)
    others = [e for e in result.data["emails"] if e.get("type") != kind]
    assert others == [e for e in user.get("emails", []) if e.get("type") != kind]


# -- fuzzing: anything goes in, only ScimErrors come out ---------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=5)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
fuzz_paths = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "title",
            "emails",
            "emails.value",
            'emails[type eq "work"]',
            'emails[type eq "work"].value',
            "name",
            "name.givenName",
            "manager",
            f"{ENT}:manager",
            ENT,
            "members",
            "id",
            "meta",
            "groups",
            "password",
            "active",
            'addresses[type eq "x" or value pr]',
            "x509Certificates",
            'members[value eq "u"]',
            "displayName",
            "userName",
            "",
            "[",
            "a.b.c",
            "emails[",
        ]
    ),
    st.text(max_size=12),
)
fuzz_operations = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "Add", "bogus"])},
    optional={"path": fuzz_paths, "value": json_values},
)


@settings(max_examples=400, deadline=None)
@given(users(), st.lists(fuzz_operations, min_size=1, max_size=3))
def test_fuzz_only_scim_errors(user: dict[str, Any], ops: list[dict[str, Any]]) -> None:
    """Malformed operations are 400s with a scimType, never crashes (behaviour.md §0.5)."""
    before = copy.deepcopy(user)
    for rt, data in ((USER, user), (GROUP, {"displayName": "G"})):
        try:
            result = apply_patch(rt, data, parse_patch({"schemas": [PATCH_OP], "Operations": ops}))
        except ScimError as exc:
            assert exc.status == 400 and exc.scim_type is not None
        else:
            assert normalize(rt, result.data) == result.data
    assert user == before


# -- groups -------------------------------------------------------------------------------

member_ids = st.text(alphabet=string.hexdigits, min_size=1, max_size=6)
member_ops = st.one_of(
    st.builds(
        lambda op, ids: {"op": op, "path": "members", "value": [{"value": i} for i in ids]},
        st.sampled_from(["add", "Add", "replace", "remove", "Remove"]),
        st.lists(member_ids, max_size=3),
    ),
    st.builds(lambda i: {"op": "remove", "path": f'members[value eq "{i}"]'}, member_ids),
    st.just({"op": "remove", "path": "members"}),
)


@SETTINGS
@given(st.lists(member_ops, min_size=1, max_size=6))
def test_member_operations_become_member_changes(ops: list[dict[str, Any]]) -> None:
    """Group member operations never touch the data dict; each one becomes one change, in
    order, except adds/removes of nothing; a remove with values never removes all."""
    data = {"displayName": "G"}
    result = apply_patch(GROUP, data, parse_patch({"schemas": [PATCH_OP], "Operations": ops}))
    assert result.data == data
    expected = [
        op for op in ops if not (op["op"].lower() in ("add", "remove") and op.get("value") == [])
    ]
    assert len(result.member_changes) == len(expected)
    for op, change in zip(expected, result.member_changes, strict=True):
        assert change.op == op["op"].lower()
        if "value" in op:
            assert [m["value"] for m in change.members] == list(
                dict.fromkeys(v["value"] for v in op["value"])
            )
        if change.op == "remove" and "value" in op:
            assert change.members and change.filter is None  # only the listed ones
        if change == MemberChange("remove"):
            assert op == {"op": "remove", "path": "members"}
