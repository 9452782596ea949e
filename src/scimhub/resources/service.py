"""SCIM operations on Users and Groups: normalize → store → render, one transaction each.

Versions guard every write: a write reads the current version and updates with
`WHERE version = <read>`. Without `If-Match` a lost race is retried on fresh data; with
it the client asked for that exact version, so it gets 412 (RFC 7644 §3.14)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from scimhub.db.engine import Database
from scimhub.resources.changes import (
    NOBODY,
    Action,
    Change,
    ChangeObserver,
    Origin,
    WriteHooks,
)
from scimhub.resources.groups import GroupStore
from scimhub.resources.render import to_scim
from scimhub.resources.store import MemberChange, Page, Sort, Stored
from scimhub.resources.users import UserStore
from scimhub.scim import etag
from scimhub.scim.errors import Conflict, NotFound, PreconditionFailed
from scimhub.scim.listing import (
    ListQuery,
    cursor_secret,
    decode_cursor,
    encode_cursor,
    fingerprint,
    list_response,
)
from scimhub.scim.patch import apply_patch, parse_patch
from scimhub.scim.projection import Projection, project
from scimhub.scim.resource import normalize, normalize_replacement
from scimhub.scim.schema import GROUP, USER, ResourceType
from scimhub.settings import Settings

# How often a write that lost a version race is retried before answering 409.
WRITE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Result:
    """A single resource as the client sees it, and its version for the ETag header."""

    body: dict[str, Any]
    version: int


def _names_attribute(projection: Projection, name: str) -> bool:
    """Whether `attributes=` names `name` (or one of its sub-attributes) explicitly."""
    wanted = name.lower()
    for attr in projection.attributes:
        bare = attr.rpartition(":")[2].lower()
        if bare == wanted or bare.startswith(wanted + "."):
            return True
    return False


class ResourceService:
    """SCIM operations for one resource type; every method is one transaction."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        rt: ResourceType,
        observers: Sequence[ChangeObserver] = (),
        hooks: WriteHooks | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.rt = rt
        # Acts before or around writes (linking on create, the delete policy), and
        # observes each write first, before the observers (resources/changes.py).
        self.hooks = hooks
        # Called in order inside every write's transaction.
        self.observers = [hooks, *observers] if hooks is not None else list(observers)
        self.store = UserStore(db.dialect) if rt is USER else GroupStore(db.dialect)
        # One key for every instance on this database, so any instance resumes a cursor.
        self.cursor_secret = cursor_secret(settings)

    # -- reads ---------------------------------------------------------------------------

    def get(self, tenant_id: str, id: str, projection: Projection, base_url: str) -> Result:
        with self.db.read() as conn:
            stored = self._require(conn, tenant_id, id)
            if projection.includes(self.rt, self.store.related):
                self.store.fill_related(conn, tenant_id, [stored])
        return self._result(stored, projection, base_url)

    def version(self, tenant_id: str, id: str) -> int:
        with self.db.read() as conn:
            return self._require(conn, tenant_id, id).version

    def search(self, tenant_id: str, query: ListQuery, base_url: str) -> dict[str, Any]:
        sort = Sort(query.sort_by, query.descending) if query.sort_by else None
        related = query.count > 0 and query.projection.includes(self.rt, self.store.related)
        if query.cursor is None:
            page = Page(limit=query.count, offset=query.start_index - 1)
        else:
            # RFC 9865 §3: an empty cursor asks for the first page.
            mark = fingerprint(query, self.rt.name)
            after = (
                decode_cursor(query.cursor, mark, secret=self.cursor_secret)
                if query.cursor
                else None
            )
            # RFC 9865 §2: totalResults may be left out of cursor pages. Counting a
            # large tenant on every page would cost more than the page itself, so only
            # the first page (empty cursor) carries it.
            page = Page(limit=query.count, after=after, count_total=after is None)
        with self.db.read() as conn:
            found = self.store.search(conn, tenant_id, query.filter, sort, page, related=related)
        resources = [
            project(self.rt, to_scim(self.rt, item, base_url), query.projection)
            for item in found.items
        ]
        if query.cursor is None:
            return list_response(resources, total=found.total, start_index=query.start_index)
        next_cursor = None
        if found.has_more and found.last_key is not None:
            mark = fingerprint(query, self.rt.name)
            next_cursor = encode_cursor(found.last_key, mark, secret=self.cursor_secret)
        return list_response(
            resources, total=found.total, start_index=None, next_cursor=next_cursor
        )

    # -- writes --------------------------------------------------------------------------

    # Every write takes an `origin`: its provider segment is recorded as the resource's
    # created/updated provider (never rendered); observers see all of it.

    def create(
        self,
        tenant_id: str,
        body: Any,
        projection: Projection,
        base_url: str,
        *,
        origin: Origin = NOBODY,
    ) -> Result:
        hooks = self.hooks
        if hooks is not None:
            hooks.check_body(self.rt, "create", body)
        data = normalize(self.rt, body)
        with self.db.write() as conn:
            linked = (
                hooks.link_on_create(conn, self.rt, tenant_id, data, origin)
                if hooks is not None
                else None
            )
            if linked is None:
                before: Stored | None = None
                stored = self.store.insert(conn, tenant_id, data, provider=origin.provider)
            else:
                # Linked to (or restored) an existing account: `before` is what it was.
                before, stored = linked
            self._observe(conn, "create", tenant_id, stored.id, origin, before, stored)
            self._load_for_write(conn, tenant_id, stored, projection)
        return self._result(stored, projection, base_url)

    def replace(
        self,
        tenant_id: str,
        id: str,
        body: Any,
        preconditions: Preconditions,
        projection: Projection,
        base_url: str,
        *,
        origin: Origin = NOBODY,
    ) -> Result:
        if self.hooks is not None:
            self.hooks.check_body(self.rt, "replace", body)

        def change(current: Stored) -> tuple[dict[str, Any], list[MemberChange]]:
            data = normalize_replacement(self.rt, current.data, body)
            changes: list[MemberChange] = []
            if self.rt is GROUP:
                # RFC 7644 §3.5.1: PUT replaces the whole group, members included.
                changes = [MemberChange("replace", tuple(data.pop("members", None) or ()))]
            return data, changes

        return self._write(
            "replace", tenant_id, id, change, preconditions, projection, base_url, origin
        )

    def patch(
        self,
        tenant_id: str,
        id: str,
        body: Any,
        preconditions: Preconditions,
        projection: Projection,
        base_url: str,
        *,
        origin: Origin = NOBODY,
    ) -> Result:
        if self.hooks is not None:
            self.hooks.check_body(self.rt, "patch", body)
        operations = parse_patch(body)

        def change(current: Stored) -> tuple[dict[str, Any], list[MemberChange]]:
            result = apply_patch(self.rt, current.data, operations)
            return result.data, result.member_changes

        return self._write(
            "patch", tenant_id, id, change, preconditions, projection, base_url, origin
        )

    def delete(
        self,
        tenant_id: str,
        id: str,
        preconditions: Preconditions,
        *,
        origin: Origin = NOBODY,
    ) -> None:
        with self.db.write() as conn:
            current = self._require(conn, tenant_id, id)
            preconditions.check(current.version)
            if self.hooks is not None:
                self.hooks.before_delete(conn, self.rt, tenant_id, current, origin)
            if not self.store.delete(conn, tenant_id, id, provider=origin.provider):
                raise NotFound(f"{self.rt.name} {id} not found")
            self._observe(conn, "delete", tenant_id, id, origin, current, None)

    # -- helpers -------------------------------------------------------------------------

    def _write(
        self,
        action: Action,
        tenant_id: str,
        id: str,
        change: Any,
        preconditions: Preconditions,
        projection: Projection,
        base_url: str,
        origin: Origin,
    ) -> Result:
        for _ in range(WRITE_ATTEMPTS):
            with self.db.write() as conn:
                current = self._require(conn, tenant_id, id, lock=True)
                preconditions.check(current.version)
                data, changes = change(current)
                if data == current.data and not changes:
                    # Nothing changes: the version and lastModified stay, so an IdP that
                    # re-sends what it sent before causes no change downstream.
                    stored: Stored | None = current
                else:
                    stored = self.store.update(
                        conn,
                        tenant_id,
                        id,
                        data,
                        expected_version=current.version,
                        member_changes=changes,
                        provider=origin.provider,
                    )
                    if stored is not None:
                        self._observe(conn, action, tenant_id, id, origin, current, stored)
                if stored is not None:
                    self._load_for_write(conn, tenant_id, stored, projection)
                    return self._result(stored, projection, base_url)
            if preconditions.if_match is not None:
                raise PreconditionFailed(f"{self.rt.name} {id} has changed")
        raise Conflict(f"{self.rt.name} {id} is being changed by another request; retry")

    def _observe(
        self,
        conn: Connection,
        action: Action,
        tenant_id: str,
        id: str,
        origin: Origin,
        before: Stored | None,
        after: Stored | None,
    ) -> None:
        if not self.observers:
            return
        change = Change(action, self.rt, tenant_id, id, origin, before, after)
        for observer in self.observers:
            observer(conn, change)

    def _load_for_write(
        self, conn: Connection, tenant_id: str, stored: Stored, projection: Projection
    ) -> None:
        if not projection.includes(self.rt, self.store.related):
            return
        if (
            self.rt is GROUP
            and (stored.member_count or 0) > self.settings.max_inline_members
            and not _names_attribute(projection, "members")
        ):
            # Large groups: write responses leave members out (docs/architecture.md).
            return
        self.store.fill_related(conn, tenant_id, [stored])

    def _require(self, conn: Connection, tenant_id: str, id: str, *, lock: bool = False) -> Stored:
        stored = self.store.get(conn, tenant_id, id, lock=lock)
        if stored is None:
            raise NotFound(f"{self.rt.name} {id} not found")
        return stored

    def _result(self, stored: Stored, projection: Projection, base_url: str) -> Result:
        body = project(self.rt, to_scim(self.rt, stored, base_url), projection)
        return Result(body, stored.version)


@dataclass(frozen=True, slots=True)
class Preconditions:
    """`If-Match` / `If-None-Match` of a write (RFC 7644 §3.14, RFC 7232 §3)."""

    if_match: str | None = None
    if_none_match: str | None = None

    def check(self, version: int) -> None:
        if self.if_match is not None and not etag.matches(self.if_match, version):
            raise PreconditionFailed(
                f"If-Match {self.if_match} does not match the current version {etag.etag(version)}"
            )
        if self.if_none_match is not None and etag.matches(self.if_none_match, version):
            # RFC 7232 §3.2: a write whose If-None-Match matches fails with 412.
            raise PreconditionFailed(f"the current version is {etag.etag(version)}")
