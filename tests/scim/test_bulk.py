"""Bulk requests (RFC 7644 §3.7)."""

from __future__ import annotations

from typing import Any

import pytest
import scim2_models

from scimhub.scim.bulk import (
    BULK_REQUEST_URN,
    BULK_RESPONSE_URN,
    PATCH_OP_URN,
    BulkOperation,
    BulkRequest,
    BulkRun,
    bulk_response,
    operation_result,
    parse_bulk,
    plan,
    references,
    resolve,
    substitute,
    unresolved,
)
from scimhub.scim.errors import (
    Conflict,
    InvalidSyntax,
    InvalidValue,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ScimError,
)
from scimhub.scim.schema import GROUP, USER

RESOURCES: Any = scim2_models.User | scim2_models.Group  # untyped generics

BASE = "https://example.com/v2"


def bulk(*ops: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schemas": [BULK_REQUEST_URN], "Operations": list(ops), **extra}


def post(path: str, bulk_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"method": "POST", "path": path, "bulkId": bulk_id, "data": data}


ALICE = post("/Users", "qwerty", {"userName": "Alice"})
# RFC 7644 §3.7.2: the group refers to the user created in the same request.
TOUR_GUIDES = post(
    "/Groups",
    "ytrewq",
    {"displayName": "Tour Guides", "members": [{"type": "User", "value": "bulkId:qwerty"}]},
)


def execute(
    body: dict[str, Any], fail: dict[int, ScimError] | None = None
) -> tuple[list[BulkOperation], dict[str, Any]]:
    """Run a bulk request with a fake executor: POSTs get ids id1, id2, …"""
    run = BulkRun(parse_bulk(body, max_operations=10), BASE)
    executed: list[BulkOperation] = []
    for op in run:
        executed.append(op)
        error = (fail or {}).get(op.index)
        if error is not None:
            run.failed(op, error)
        elif op.method == "POST":
            run.succeeded(op, status=201, id=f"id{len(executed)}", version='W/"1"')
        elif op.method == "DELETE":
            run.succeeded(op, status=204)
        else:
            run.succeeded(op, status=200, version='W/"2"')
    return executed, run.response()


# -- parsing -------------------------------------------------------------------------------


def test_parse_rfc_example() -> None:
    request = parse_bulk(bulk(ALICE, TOUR_GUIDES), max_operations=10)
    user, group = request.operations
    assert (user.method, user.path, user.bulk_id, user.resource_type) == (
        "POST",
        "/Users",
        "qwerty",
        USER,
    )
    assert user.resource_id is None and user.refs == frozenset() and user.error is None
    assert group.resource_type is GROUP and group.refs == frozenset({"qwerty"})
    assert request.fail_on_errors is None


def test_parse_is_lenient_about_names_and_case() -> None:
    # RFC 7643 §2.1: attribute names are case-insensitive; methods too, here.
    body = {
        "operations": [
            {
                "METHOD": "patch",
                "Path": "/groups/g1",
                "DATA": [{"op": "add", "path": "x"}],
                "Version": 'W/"3"',
            },
            {"method": "Delete", "path": "/Users/u1/"},
        ],
        "FailOnErrors": "2",
    }
    request = parse_bulk(body, max_operations=10)
    patch, delete = request.operations
    assert (patch.method, patch.resource_type, patch.resource_id) == ("PATCH", GROUP, "g1")
    # A bare list of PATCH operations is wrapped in a PatchOp body.
    assert patch.data == {"schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "path": "x"}]}
    assert patch.version == 'W/"3"'
    assert (delete.method, delete.resource_id, delete.data) == ("DELETE", "u1", None)
    assert request.fail_on_errors == 2


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ([], InvalidSyntax),
        ({"schemas": [BULK_REQUEST_URN]}, InvalidSyntax),
        ({"Operations": {}}, InvalidSyntax),
        (
            {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []},
            InvalidSyntax,
        ),
        (bulk(failOnErrors=0), InvalidValue),
        (bulk(failOnErrors=-1), InvalidValue),
        (bulk(failOnErrors=True), InvalidValue),
        (bulk(failOnErrors="x"), InvalidValue),
    ],
)
def test_bad_envelopes(body: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_bulk(body, max_operations=10)


def test_too_many_operations_is_413_naming_the_limit() -> None:
    # RFC 7644 §3.7.4: 413, and "the returned response MUST specify the limit exceeded".
    with pytest.raises(PayloadTooLarge) as caught:
        parse_bulk(bulk(*[ALICE] * 3), max_operations=2)
    assert caught.value.status == 413
    assert "maxOperations (2)" in caught.value.detail
    assert len(parse_bulk(bulk(*[ALICE] * 2), max_operations=2).operations) == 2


BAD_OPERATIONS: list[tuple[Any, type[Exception]]] = [
    ("not an object", InvalidSyntax),
    ({"path": "/Users", "bulkId": "a", "data": {}}, InvalidSyntax),  # no method
    ({"method": "GET", "path": "/Users/1"}, MethodNotAllowed),
    ({"method": "POST", "path": "/Users", "data": {}}, InvalidSyntax),  # POST needs a bulkId
    ({"method": "POST", "path": "/Users", "bulkId": "", "data": {}}, InvalidSyntax),
    ({"method": "POST", "path": "/Users/1", "bulkId": "a", "data": {}}, InvalidSyntax),
    ({"method": "POST", "bulkId": "a", "data": {}}, InvalidSyntax),  # no path
    ({"method": "POST", "path": "/Users", "bulkId": "a"}, InvalidSyntax),  # no data
    ({"method": "PUT", "path": "/Users/1", "data": "x"}, InvalidSyntax),
    ({"method": "PUT", "path": "/Users", "data": {}}, InvalidSyntax),  # PUT needs an id
    ({"method": "DELETE", "path": "/Users/1/x"}, InvalidSyntax),
    ({"method": "DELETE", "path": "/"}, InvalidSyntax),
    ({"method": "DELETE", "path": "/Devices/1"}, NotFound),
]


@pytest.mark.parametrize(("raw", "error"), BAD_OPERATIONS)
def test_a_bad_operation_fails_alone(raw: Any, error: type[Exception]) -> None:
    # RFC 7644 §3.7: "continue performing as many changes as possible".
    request = parse_bulk(bulk(raw, ALICE), max_operations=10)
    bad, good = request.operations
    assert isinstance(bad.error, error)
    assert good.error is None


def test_duplicate_bulk_ids_fail_the_later_post() -> None:
    # RFC 7644 §3.7: a bulkId is "unique within a bulk request".
    request = parse_bulk(bulk(ALICE, ALICE), max_operations=10)
    assert request.operations[0].error is None
    assert isinstance(request.operations[1].error, InvalidValue)


# -- references (RFC 7644 §3.7.2) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "refs"),
    [
        ("bulkId:qwerty", {"qwerty"}),
        ("/Users/bulkId:qwerty", {"qwerty"}),
        ({"members": [{"value": "bulkId:a"}, {"value": "bulkId:b"}]}, {"a", "b"}),
        # RFC 7644 §3.7.2: references inside extensions are handled the same way.
        (
            {
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "manager": {"value": "bulkId:qwerty"}
                }
            },
            {"qwerty"},
        ),
        ({"Operations": [{"op": "remove", "path": 'members[value eq "bulkId:u1"]'}]}, {"u1"}),
        ("https://example.com/v2/Users/bulkId:x9?y", {"x9"}),
        ("bulkId:with space", {"with space"}),
        ({"bulkId:key": "value"}, set()),  # keys are not references
        (["bulkid:lower", "no bulkId here", 1, None, True], set()),
    ],
)
def test_references(value: Any, refs: set[str]) -> None:
    assert references(value) == refs


def test_substitute() -> None:
    ids = {"qwerty": "92b725cd", "u1": "u-1"}
    data: dict[str, Any] = {
        "members": [{"value": "bulkId:qwerty", "$ref": f"{BASE}/Users/bulkId:qwerty"}],
        "Operations": [{"path": 'members[value eq "bulkId:u1"]', "value": "bulkId:other"}],
        "n": 3,
    }
    assert substitute(data, ids) == {
        "members": [{"value": "92b725cd", "$ref": f"{BASE}/Users/92b725cd"}],
        "Operations": [{"path": 'members[value eq "u-1"]', "value": "bulkId:other"}],
        "n": 3,
    }
    assert data["members"][0]["value"] == "bulkId:qwerty"  # a copy; the input is unchanged


def test_resolve_and_unresolved() -> None:
    request = parse_bulk(
        bulk({"method": "PUT", "path": "/Users/bulkId:a", "data": {"x": "bulkId:b"}}),
        max_operations=10,
    )
    [op] = request.operations
    assert unresolved(op, {}) == {"a", "b"}
    assert unresolved(op, {"a": "1"}) == {"b"}
    done = resolve(op, {"a": "1", "b": "2"})
    assert (done.path, done.resource_id, done.data, done.refs) == (
        "/Users/1",
        "1",
        {"x": "2"},
        frozenset(),
    )


# -- ordering ------------------------------------------------------------------------------


def order(*ops: dict[str, Any]) -> list[tuple[int, str | None]]:
    planned = plan(parse_bulk(bulk(*ops), max_operations=20))
    return [(op.index, type(op.error).__name__ if op.error else None) for op in planned]


def test_plan_keeps_request_order_when_possible() -> None:
    assert order(ALICE, TOUR_GUIDES) == [(0, None), (1, None)]


def test_plan_runs_the_referenced_post_first() -> None:
    # RFC 7644 §3.7: reordering must achieve "the same stateful result".
    assert order(TOUR_GUIDES, ALICE) == [(1, None), (0, None)]
    patch = {
        "method": "PATCH",
        "path": "/Groups/bulkId:ytrewq",
        "data": {
            "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:qwerty"}]}]
        },
    }
    other = {"method": "DELETE", "path": "/Users/zzz"}
    assert order(patch, other, TOUR_GUIDES, ALICE) == [(1, None), (3, None), (2, None), (0, None)]


def test_plan_reports_cycles_and_undefined_references() -> None:
    # RFC 7644 §3.7.1: the circular example — 409 Conflict for both.
    a = post("/Groups", "qwerty", {"displayName": "A", "members": [{"value": "bulkId:ytrewq"}]})
    b = post("/Groups", "ytrewq", {"displayName": "B", "members": [{"value": "bulkId:qwerty"}]})
    assert order(a, b) == [(0, "Conflict"), (1, "Conflict")]
    itself = post("/Groups", "me", {"displayName": "M", "members": [{"value": "bulkId:me"}]})
    assert order(itself) == [(0, "Conflict")]
    # Downstream of a cycle, not in it: ordered after it, left to fail at run time.
    downstream = post("/Groups", "d", {"displayName": "D", "members": [{"value": "bulkId:qwerty"}]})
    assert order(downstream, a, b) == [(1, "Conflict"), (0, None), (2, "Conflict")]
    nowhere = {"method": "DELETE", "path": "/Users/bulkId:nope"}
    assert order(nowhere, ALICE) == [(0, "InvalidValue"), (1, None)]


# -- running -------------------------------------------------------------------------------


def test_run_rfc_bulk_id_example() -> None:
    executed, response = execute(bulk(TOUR_GUIDES, ALICE))
    assert [op.index for op in executed] == [1, 0]
    assert executed[1].data["members"] == [{"type": "User", "value": "id1"}]
    assert response == {
        "schemas": [BULK_RESPONSE_URN],
        "Operations": [
            {
                "location": f"{BASE}/Users/id1",
                "method": "POST",
                "bulkId": "qwerty",
                "version": 'W/"1"',
                "status": "201",
            },
            {
                "location": f"{BASE}/Groups/id2",
                "method": "POST",
                "bulkId": "ytrewq",
                "version": 'W/"1"',
                "status": "201",
            },
        ],
    }
    parsed = scim2_models.BulkResponse[RESOURCES].model_validate(response)
    assert [op.status for op in parsed.operations or []] == [201, 201]


def test_run_reports_errors_in_place_and_continues() -> None:
    # RFC 7644 §3.7.3, the example in which operations fail.
    put = {
        "method": "PUT",
        "path": "/Users/b7c14771",
        "version": 'W/"3694e05e9dff591"',
        "data": {"userName": "Bob"},
    }
    delete = {"method": "DELETE", "path": "/Users/e9025315"}
    executed, response = execute(
        bulk(ALICE, put, delete),
        fail={
            0: InvalidSyntax("Request is unparsable"),
            1: PreconditionFailed("Failed to update.  Resource changed on the server."),
        },
    )
    assert [op.index for op in executed] == [0, 1, 2]
    first, second, third = response["Operations"]
    # A failed POST has no location; the others do.
    assert "location" not in first and first["status"] == "400"
    assert first["response"]["scimType"] == "invalidSyntax"
    assert second["location"] == f"{BASE}/Users/b7c14771" and second["status"] == "412"
    assert second["response"]["status"] == "412"
    assert third == {"location": f"{BASE}/Users/e9025315", "method": "DELETE", "status": "204"}
    scim2_models.BulkResponse[RESOURCES].model_validate(response)


def test_fail_on_errors_stops_after_that_many_errors() -> None:
    # RFC 7644 §3.7: failOnErrors=1 returns after the first error.
    bad = {"method": "GET", "path": "/Users/1"}
    delete = {"method": "DELETE", "path": "/Users/e9025315"}
    executed, response = execute(bulk(bad, delete, failOnErrors=1))
    assert executed == []
    assert [r["status"] for r in response["Operations"]] == ["405"]
    executed, response = execute(bulk(ALICE, bad, delete, failOnErrors=2))
    assert [op.index for op in executed] == [0, 2]
    executed, response = execute(bulk(ALICE, delete, failOnErrors=1), fail={0: Conflict("x")})
    assert [r["status"] for r in response["Operations"]] == ["409"]


def test_a_failed_post_fails_its_dependents_with_409() -> None:
    executed, response = execute(bulk(ALICE, TOUR_GUIDES), fail={0: InvalidValue("no")})
    assert [op.index for op in executed] == [0]
    user, group = response["Operations"]
    assert (user["status"], group["status"], group["bulkId"]) == ("400", "409", "ytrewq")
    assert "qwerty" in group["response"]["detail"]


def test_circular_posts_are_not_run() -> None:
    a = post("/Groups", "a", {"displayName": "A", "members": [{"value": "bulkId:b"}]})
    b = post("/Groups", "b", {"displayName": "B", "members": [{"value": "bulkId:a"}]})
    executed, response = execute(bulk(a, b, ALICE))
    assert [op.index for op in executed] == [2]
    assert [r["status"] for r in response["Operations"]] == ["409", "409", "201"]


def test_location_with_unresolved_id_is_omitted() -> None:
    executed, response = execute(bulk({"method": "DELETE", "path": "/Users/bulkId:none"}))
    assert executed == []
    [result] = response["Operations"]
    assert "location" not in result and result["status"] == "400"


def test_operation_result_and_bulk_response() -> None:
    op = BulkOperation(0, "PUT", "/Users/1", resource_type=USER, resource_id="1")
    assert operation_result(op, status=200, location="L", version="V", response={"id": "1"}) == {
        "location": "L",
        "method": "PUT",
        "version": "V",
        "status": "200",
        "response": {"id": "1"},
    }
    assert bulk_response([]) == {"schemas": [BULK_RESPONSE_URN], "Operations": []}


def test_empty_request() -> None:
    assert BulkRun(BulkRequest(())).response() == bulk_response([])
