"""The PATCH engine (RFC 7644 §3.5.2). STUB: signatures are the contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from scimhub.scim.filter import Filter, PatchPath
from scimhub.scim.schema import ResourceType


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


def parse_patch(body: Any) -> list[PatchOperation]:
    """Validate a PatchOp request body; raises InvalidSyntax / InvalidPath / InvalidValue."""
    raise NotImplementedError


def apply_patch(
    rt: ResourceType,
    data: dict[str, Any],
    operations: list[PatchOperation],
) -> PatchResult:
    """Apply operations to a copy of `data`. For a Group, operations on `members` are not
    applied to the dict but returned, in order, as `member_changes`."""
    raise NotImplementedError
