"""What the SCIM service needs from storage: the contract every backend keeps.

The stores speak in *data* dicts: the normalized attributes of a resource (canonical
attribute names, as `scimhub.scim.resource.normalize` produces them) without `id`,
`meta`, `schemas`, and without the attributes kept in their own tables (a group's
`members`, a user's `groups`). Every call takes the open `Connection` of the request's
transaction and the tenant id, and never reads or writes outside that tenant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scimhub.scim.filter import AttrPath
from scimhub.scim.patch import MemberChange

__all__ = ["MemberChange", "MemberDelta", "Page", "SearchResult", "Sort", "Stored"]


@dataclass(frozen=True, slots=True)
class Sort:
    path: AttrPath
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """Index paging (`offset`, 0-based) or keyset paging (`after`, the `last_key` of the
    previous page; RFC 9865 cursors are built on it). `limit` 0 returns no rows."""

    limit: int
    offset: int = 0
    after: tuple[Any, ...] | None = None
    count_total: bool = True


@dataclass(frozen=True, slots=True)
class MemberDelta:
    """What a group write really changed in the membership table: members that were
    not there before (`added`, with their type) and members that are gone (`removed`).
    A no-op add or remove (member already there, or absent) appears in neither."""

    added: tuple[tuple[str, str], ...] = ()  # (id, "User" | "Group")
    removed: tuple[str, ...] = ()


@dataclass(slots=True)
class Stored:
    id: str
    version: int
    created: datetime  # UTC, tz-aware
    last_modified: datetime  # UTC, tz-aware
    data: dict[str, Any]
    # Groups: [{"value", "type" ("User"|"Group"), "display"}] when loaded, else None.
    members: list[dict[str, Any]] | None = None
    # Users: [{"value", "display", "type" ("direct"|"indirect")}] when loaded, else None.
    groups: list[dict[str, Any]] | None = None
    # Groups: how many direct members the group has (kept in a column).
    member_count: int | None = None
    # Groups, after a write: the membership rows it added and removed.
    delta: MemberDelta | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SearchResult:
    items: list[Stored]
    total: int | None
    # Keyset of the last item (JSON-serializable), for the next cursor; None if no items.
    last_key: tuple[Any, ...] | None
    has_more: bool
