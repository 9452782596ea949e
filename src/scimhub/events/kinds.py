"""The event types, and which ones a resource write produces.

One write produces one event for its resource (created, updated, deactivated,
reactivated, deleted), plus one event per group member really added or removed (from the
write's `MemberDelta`, so an idempotent re-add produces nothing)."""

from __future__ import annotations

from typing import Any, Final

from scimhub.resources.changes import Change
from scimhub.scim.schema import USER

USER_CREATED: Final = "user.created"
USER_UPDATED: Final = "user.updated"
USER_DEACTIVATED: Final = "user.deactivated"
USER_REACTIVATED: Final = "user.reactivated"
USER_DELETED: Final = "user.deleted"
GROUP_CREATED: Final = "group.created"
GROUP_UPDATED: Final = "group.updated"
GROUP_DELETED: Final = "group.deleted"
MEMBER_ADDED: Final = "group.member_added"
MEMBER_REMOVED: Final = "group.member_removed"
# Emitted for the lifecycle rules' grant changes (events/roles.py, through `emit`).
ROLE_GRANTED: Final = "role.granted"
ROLE_REVOKED: Final = "role.revoked"
TOKEN_CREATED: Final = "token.created"
TOKEN_REGENERATED: Final = "token.regenerated"
TOKEN_REVOKED: Final = "token.revoked"

KINDS: Final[tuple[str, ...]] = (
    USER_CREATED,
    USER_UPDATED,
    USER_DEACTIVATED,
    USER_REACTIVATED,
    USER_DELETED,
    GROUP_CREATED,
    GROUP_UPDATED,
    GROUP_DELETED,
    MEMBER_ADDED,
    MEMBER_REMOVED,
    ROLE_GRANTED,
    ROLE_REVOKED,
    TOKEN_CREATED,
    TOKEN_REGENERATED,
    TOKEN_REVOKED,
)


def resource_kind(change: Change) -> str | None:
    """The event type of the write itself; None for a group write that changed only its
    members (those are member events)."""
    user = change.rt is USER
    if change.action == "create":
        return USER_CREATED if user else GROUP_CREATED
    if change.action == "delete":
        return USER_DELETED if user else GROUP_DELETED
    before = change.before.data if change.before else {}
    after = change.after.data if change.after else {}
    if user:
        # A missing `active` counts as active (RFC 7643 §4.1.1 leaves it to the
        # provider; scimhub serves such users).
        was, now = before.get("active", True) is not False, after.get("active", True) is not False
        if was and not now:
            return USER_DEACTIVATED
        if now and not was:
            return USER_REACTIVATED
        return USER_UPDATED
    return GROUP_UPDATED if before != after else None


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Attribute-level changes: `{name: {"before": x, "after": y}}` for each top-level
    attribute that differs, and for each attribute inside an extension schema (named
    `urn…:name`). Absent values are None."""
    old, new = before or {}, after or {}
    out: dict[str, Any] = {}
    for name in sorted(old.keys() | new.keys()):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        if name.startswith("urn:") and isinstance(a or {}, dict) and isinstance(b or {}, dict):
            for key, value in diff(a, b).items():
                out[f"{name}:{key}"] = value
            continue
        out[name] = {"before": a, "after": b}
    return out
