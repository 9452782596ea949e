"""The PatchOp message (RFC 7644 §3.5.2): operations, results, `parse_patch`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from scimhub.scim.errors import InvalidPath, InvalidSyntax, InvalidValue, NoTarget
from scimhub.scim.filter import Filter, PatchPath, parse_path

PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
Op = Literal["add", "remove", "replace"]
_OPS: dict[str, Op] = {"add": "add", "remove": "remove", "replace": "replace"}


@dataclass(frozen=True, slots=True)
class MemberChange:
    """One membership operation from a Group PATCH, applied in order in SQL.

    - add: insert `members` (each `{"value", "type"?}`); existing members are a no-op.
    - remove: with `members`, delete those values (Entra's value-array form); with
      `filter` (relative to a member: value, type, display), delete the matches; with
      neither, delete every member.
    - replace: delete every member, then add `members`.
    """

    op: Literal["add", "remove", "replace"]
    members: tuple[dict[str, Any], ...] = ()
    filter: Filter | None = None


@dataclass(frozen=True, slots=True)
class PatchOperation:
    op: Literal["add", "remove", "replace"]
    path: PatchPath | None
    value: Any = None


@dataclass(slots=True)
class PatchResult:
    data: dict[str, Any]
    member_changes: list[MemberChange] = field(default_factory=list)


# -- parsing -----------------------------------------------------------------------------


def _fields(obj: dict[Any, Any]) -> dict[str, Any]:
    return {k.lower(): v for k, v in obj.items() if isinstance(k, str)}


# Paths repeat across requests (one IdP sends the same few): parse each once.
_parse_path = lru_cache(maxsize=1024)(parse_path)
_OPERATION_KEYS = frozenset({"op", "path", "value"})


def parse_patch(body: Any) -> list[PatchOperation]:
    """Validate a PatchOp request body; raises InvalidSyntax / InvalidPath / InvalidValue
    (and NoTarget for a `remove` without path, RFC 7644 §3.5.2.2)."""
    if not isinstance(body, dict):
        raise InvalidSyntax("the request body must be a JSON object")
    fields = _fields(body)
    schemas = fields.get("schemas")
    if isinstance(schemas, str):
        schemas = [schemas]
    if not isinstance(schemas, list) or not any(
        isinstance(s, str) and s.lower() == PATCH_OP_URN.lower() for s in schemas
    ):
        raise InvalidSyntax(f"'schemas' must contain {PATCH_OP_URN}")
    operations = fields.get("operations")
    # RFC 7644 §3.5.2: "an array of one or more PATCH operations".
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("'Operations' must be an array of one or more operations")
    return [_parse_operation(i, raw) for i, raw in enumerate(operations)]


def _parse_operation(index: int, raw: Any) -> PatchOperation:
    if not isinstance(raw, dict):
        raise InvalidSyntax(f"operation {index} must be an object")
    # The usual spelling is lower case already; match other spellings case-insensitively.
    fields = raw if raw.keys() <= _OPERATION_KEYS else _fields(raw)
    op_text = fields.get("op")
    op = _OPS.get(op_text.lower()) if isinstance(op_text, str) else None
    if op is None:
        raise InvalidSyntax(f"operation {index}: 'op' must be add, remove or replace")
    path_text = fields.get("path")
    path: PatchPath | None = None
    if path_text is not None and path_text != "":
        if not isinstance(path_text, str):
            raise InvalidPath(f"operation {index}: 'path' must be a string")
        path = _parse_path(path_text)
    value = fields.get("value")
    if op == "remove":
        if path is None:
            raise NoTarget(f"operation {index}: remove needs a 'path' (RFC 7644 §3.5.2.2)")
    elif (op == "add" and value is None) or "value" not in fields:
        # RFC 7644 §3.5.2.1 / §3.5.2.3: the operation MUST contain a "value".
        raise InvalidValue(f"operation {index}: {op} needs a 'value'")
    elif path is None and not isinstance(value, dict):
        raise InvalidValue(f"operation {index}: without 'path', 'value' must be an object")
    return PatchOperation(op, path, value)
