"""Bulk requests (RFC 7644 §3.7): the pure part. The web layer executes each operation.

    request = parse_bulk(body, max_operations=settings.bulk_max_operations)
    run = BulkRun(request, base_url)
    for op in run:  # dependency order; every `bulkId:x` already replaced by an id
        try:
            ...  # op.method on op.resource_type (+ op.resource_id) with op.data, op.version
            run.succeeded(op, status=201, id=new_id, version=etag)
        except ScimError as error:
            run.failed(op, error)
    return run.response()  # BulkResponse, sent with HTTP 200

`parse_bulk` raises for the envelope only: InvalidSyntax (not an object, no Operations
list, `schemas` given without the BulkRequest URN), InvalidValue (failOnErrors not an
integer ≥ 1), PayloadTooLarge (more than maxOperations, RFC 7644 §3.7.4). A malformed
operation does not fail the request: it carries `error` and is reported in its place
(RFC 7644 §3.7: "continue performing as many changes as possible").

Iterating a BulkRun reports by itself, without yielding them, the operations that
cannot run: malformed ones, those in a circular bulkId reference (409, RFC 7644 §3.7.1:
scimhub does not break cycles by creating and patching later), those referring to a
bulkId no POST defines (400 invalidValue), and those whose referenced POST failed
(409). It stops once `failOnErrors` errors are reported (RFC 7644 §3.7).

Lower-level pieces: `plan` (dependency order), `references`, `substitute`,
`unresolved`, `resolve`, `operation_result`, `bulk_response`."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from scimhub.scim.errors import (
    Conflict,
    InvalidSyntax,
    InvalidValue,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ScimError,
)
from scimhub.scim.schema import RESOURCE_TYPES, ResourceType

BULK_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
METHODS = ("POST", "PUT", "PATCH", "DELETE")  # RFC 7644 §3.7

_PREFIX = "bulkId:"  # RFC 7644 §3.7.2: the literal prefix
# A reference inside a longer string: a $ref URL, a PATCH path filter.
_EMBEDDED = re.compile(r"bulkId:([^\s\"'\[\]()/\\,?#&]+)")


@dataclass(frozen=True, slots=True)
class BulkOperation:
    index: int  # position in the request
    method: str  # upper case; as sent (or "") when invalid
    path: str
    bulk_id: str | None = None
    data: Any = None  # POST/PUT: resource body; PATCH: PatchOp body; DELETE: None
    version: str | None = None  # an ETag, for If-Match (RFC 7644 §3.7, §3.14)
    resource_type: ResourceType | None = None
    resource_id: str | None = None  # None for POST
    refs: frozenset[str] = frozenset()  # bulkIds referenced in path and data
    error: ScimError | None = None  # set when the operation cannot be run


@dataclass(frozen=True, slots=True)
class BulkRequest:
    operations: tuple[BulkOperation, ...]
    fail_on_errors: int | None = None


# -- parsing ------------------------------------------------------------------------------


def _lowered(obj: dict[str, Any]) -> dict[str, Any]:
    # RFC 7643 §2.1: attribute names are case-insensitive.
    return {k.lower(): v for k, v in obj.items() if isinstance(k, str)}


def parse_bulk(body: Any, *, max_operations: int) -> BulkRequest:
    if not isinstance(body, dict):
        raise InvalidSyntax("a BulkRequest body must be a JSON object")
    fields = _lowered(body)
    schemas = fields.get("schemas")
    if schemas is not None and not (
        isinstance(schemas, list)
        and any(isinstance(s, str) and s.lower() == BULK_REQUEST_URN.lower() for s in schemas)
    ):
        raise InvalidSyntax(f"schemas must contain {BULK_REQUEST_URN}")
    raw_ops = fields.get("operations")
    if not isinstance(raw_ops, list):
        raise InvalidSyntax("a BulkRequest needs an Operations list")
    if len(raw_ops) > max_operations:
        # RFC 7644 §3.7.4: 413, and the body names the limit.
        raise PayloadTooLarge(
            f"The number of operations ({len(raw_ops)}) exceeds the maxOperations "
            f"({max_operations})."
        )
    fail_on_errors = _fail_on_errors(fields.get("failonerrors"))
    ops = [_parse_operation(i, raw) for i, raw in enumerate(raw_ops)]
    seen: set[str] = set()
    for i, op in enumerate(ops):
        if op.method == "POST" and op.bulk_id is not None and op.error is None:
            if op.bulk_id in seen:  # RFC 7644 §3.7: "unique within a bulk request"
                ops[i] = replace(op, error=InvalidValue(f"duplicate bulkId {op.bulk_id!r}"))
            seen.add(op.bulk_id)
    return BulkRequest(tuple(ops), fail_on_errors)


def _fail_on_errors(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidValue("failOnErrors must be an integer of at least 1")
    return value


def _parse_operation(index: int, raw: Any) -> BulkOperation:
    if not isinstance(raw, dict):
        return BulkOperation(index, "", "", error=InvalidSyntax("an operation must be an object"))
    f = _lowered(raw)
    method = f["method"].strip().upper() if isinstance(f.get("method"), str) else ""
    path = f["path"].strip() if isinstance(f.get("path"), str) else ""
    bulk_id = f["bulkid"] if isinstance(f.get("bulkid"), str) else None
    version = f["version"] if isinstance(f.get("version"), str) else None
    data = f.get("data")
    op = BulkOperation(index, method, path, bulk_id, None, version)
    try:
        if method not in METHODS:
            if not method:
                raise InvalidSyntax("an operation needs a method")
            raise MethodNotAllowed(f"method {method!r} is not one of {', '.join(METHODS)}")
        if not path:
            raise InvalidSyntax("an operation needs a path")
        rt, resource_id = _parse_path(method, path)
        if method == "POST" and not bulk_id:
            raise InvalidSyntax("a POST operation needs a bulkId")  # RFC 7644 §3.7
        if method == "PATCH" and isinstance(data, list):
            data = {"schemas": [PATCH_OP_URN], "Operations": data}  # lenient
        if method == "DELETE":
            data = None
        elif not isinstance(data, dict):
            raise InvalidSyntax(f"a {method} operation needs a data object")
    except ScimError as error:
        return replace(op, error=error)
    refs = references(path) | references(data)
    return replace(op, data=data, resource_type=rt, resource_id=resource_id, refs=frozenset(refs))


def _parse_path(method: str, path: str) -> tuple[ResourceType, str | None]:
    """`/Users` for POST, `/Users/{id}` otherwise (RFC 7644 §3.7 `path`)."""
    segments = [s for s in path.split("/") if s]
    if not segments:
        raise InvalidSyntax(f"invalid path {path!r}")
    endpoint = "/" + segments[0].lower()
    rt = next((r for r in RESOURCE_TYPES if r.endpoint.lower() == endpoint), None)
    if rt is None:
        raise NotFound(f"no resource endpoint at {path!r}")
    if method == "POST":
        if len(segments) != 1:
            raise InvalidSyntax(f"a POST path names a resource endpoint such as {rt.endpoint}")
        return rt, None
    if len(segments) != 2:
        raise InvalidSyntax(f"a {method} path names one resource, e.g. {rt.endpoint}/{{id}}")
    return rt, segments[1]


# -- bulkId references (RFC 7644 §3.7.2) --------------------------------------------------


def references(value: Any) -> set[str]:
    """The bulkIds a JSON value refers to: a string `bulkId:x`, or `bulkId:x` inside a
    string (`/Users/bulkId:x`, `members[value eq "bulkId:x"]`)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item.startswith(_PREFIX):
                found.add(item[len(_PREFIX) :])
            elif _PREFIX in item:
                found.update(_EMBEDDED.findall(item))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def substitute(value: Any, ids: dict[str, str]) -> Any:
    """A copy of `value` with every resolvable `bulkId:x` replaced by `ids[x]`."""
    if isinstance(value, str):
        if value.startswith(_PREFIX):
            return ids.get(value[len(_PREFIX) :], value)
        if _PREFIX in value:
            return _EMBEDDED.sub(lambda m: ids.get(m.group(1), m.group(0)), value)
        return value
    if isinstance(value, dict):
        return {k: substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, ids) for v in value]
    return value


def unresolved(op: BulkOperation, ids: dict[str, str]) -> set[str]:
    """The bulkIds `op` refers to that no successful POST has defined yet."""
    return {r for r in op.refs if r not in ids}


def resolve(op: BulkOperation, ids: dict[str, str]) -> BulkOperation:
    """`op` with its references replaced by the created ids."""
    if not op.refs:
        return op
    return replace(
        op,
        path=substitute(op.path, ids),
        resource_id=substitute(op.resource_id, ids),
        data=substitute(op.data, ids),
        refs=frozenset(unresolved(op, ids)),
    )


def plan(request: BulkRequest) -> list[BulkOperation]:
    """The operations in an order that runs each POST before the operations that refer
    to its bulkId, otherwise in request order (RFC 7644 §3.7: the provider may reorder
    if "the same stateful result is achieved"). Operations that refer to an undefined
    bulkId or take part in a cycle come back with `error` set."""
    ops = list(request.operations)
    defined: dict[str, int] = {}
    for op in ops:
        if op.method == "POST" and op.bulk_id is not None:
            defined.setdefault(op.bulk_id, op.index)
    position = {op.index: i for i, op in enumerate(ops)}
    deps: list[set[int]] = []
    for i, op in enumerate(ops):
        missing = sorted(r for r in op.refs if r not in defined)
        if op.error is None and missing:
            ops[i] = replace(
                op,
                error=InvalidValue(
                    f"bulkId {missing[0]!r} is not defined by any POST operation of this request"
                ),
            )
        deps.append(
            set() if ops[i].error else {position[defined[r]] for r in op.refs if r in defined}
        )
    circular = [i for i in range(len(ops)) if deps[i] and _on_cycle(i, deps)]
    for i in circular:
        error = Conflict("circular bulkId references cannot be resolved (RFC 7644 §3.7.1)")
        ops[i] = replace(ops[i], error=error)
        deps[i] = set()  # cuts every cycle; operations downstream wait on a failed POST
    dependents: list[list[int]] = [[] for _ in ops]
    waiting = [len(d) for d in deps]
    for i, d in enumerate(deps):
        for j in d:
            dependents[j].append(i)
    ready = [i for i, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    order: list[BulkOperation] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(ops[i])
        for j in dependents[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    return order


def _on_cycle(start: int, deps: list[set[int]]) -> bool:
    seen: set[int] = set()
    stack = list(deps[start])
    while stack:
        node = stack.pop()
        if node == start:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(deps[node])
    return False


# -- responses (RFC 7644 §3.7.3) ----------------------------------------------------------


def operation_result(
    op: BulkOperation,
    *,
    status: int,
    location: str | None = None,
    version: str | None = None,
    response: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One BulkResponse operation; `status` is sent as a string (RFC 7644 §3.7.3)."""
    result: dict[str, Any] = {}
    if location:
        result["location"] = location
    if op.method:
        result["method"] = op.method
    if op.bulk_id is not None:
        result["bulkId"] = op.bulk_id
    if version:
        result["version"] = version
    result["status"] = str(status)
    if response is not None:
        result["response"] = response
    return result


def bulk_response(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [BULK_RESPONSE_URN], "Operations": results}


class BulkRun:
    """Drives one bulk request: see the module docstring."""

    def __init__(self, request: BulkRequest, base_url: str = "") -> None:
        self.request = request
        self.base_url = base_url.rstrip("/")
        self.ids: dict[str, str] = {}  # bulkId → id of the created resource
        self.results: list[dict[str, Any]] = []
        self.errors = 0

    def __iter__(self) -> Iterator[BulkOperation]:
        for op in plan(self.request):
            if self.stopped:
                return
            if op.error is not None:
                self.failed(op, op.error)
                continue
            missing = unresolved(op, self.ids)
            if missing:
                name = sorted(missing)[0]
                self.failed(
                    op, Conflict(f"bulkId {name!r} cannot be resolved: its POST operation failed")
                )
                continue
            yield resolve(op, self.ids)

    @property
    def stopped(self) -> bool:
        """failOnErrors reached: the remaining operations are not run (RFC 7644 §3.7)."""
        limit = self.request.fail_on_errors
        return limit is not None and self.errors >= limit

    def succeeded(
        self,
        op: BulkOperation,
        *,
        status: int,
        id: str | None = None,
        version: str | None = None,
        response: dict[str, Any] | None = None,
        location: str | None = None,
    ) -> None:
        """Record a success; `id` is the created (POST) or targeted resource's id."""
        if op.method == "POST" and op.bulk_id is not None and id is not None:
            self.ids[op.bulk_id] = id
        result = operation_result(
            op,
            status=status,
            location=location or self._location(op, id),
            version=version,
            response=response,
        )
        self.results.append(result)

    def failed(self, op: BulkOperation, error: ScimError) -> None:
        # RFC 7644 §3.7.3: a location for every operation but a failed POST.
        location = None if op.method == "POST" else self._location(op, None)
        self.errors += 1
        self.results.append(
            operation_result(op, status=error.status, location=location, response=error.to_dict())
        )

    def response(self) -> dict[str, Any]:
        return bulk_response(self.results)

    def _location(self, op: BulkOperation, id: str | None) -> str | None:
        target = id or op.resource_id
        if op.resource_type is None or not target or _PREFIX in target:
            return None
        return f"{self.base_url}{op.resource_type.endpoint}/{target}"
