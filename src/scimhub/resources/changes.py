"""What a write changed, handed to observers inside the write's own transaction.

Observers (the audit trail, the event outbox, the lifecycle rules) run on the request's
`Connection` before it commits: what they write commits with the change or not at all,
and an observer that raises rolls the whole request back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import Connection

from scimhub.resources.store import Stored
from scimhub.scim.schema import ResourceType


@dataclass(frozen=True, slots=True)
class Origin:
    """Who asked for a write. `provider` is the URL's provider segment (None for the
    bare tenant URL) and is recorded on the resource; the rest is for the audit trail."""

    provider: str | None = None
    # "token:<id>" for a SCIM token, "admin:<principal id>", "cli", "system", …
    actor: str | None = None
    request_id: str | None = None
    user_agent: str | None = None


NOBODY = Origin()

Action = Literal["create", "replace", "patch", "delete"]


@dataclass(frozen=True, slots=True)
class Change:
    """One resource write. `before` is the row as read under the write's lock (None on
    create, except a create the lifecycle linked to an existing account or restored:
    then the account as it was, None for a restored one); `after` the row as written
    (None on delete). Neither has its related attributes loaded (a group's members, a
    user's groups); a group's `after.delta` says which membership rows the write
    added and removed."""

    action: Action
    rt: ResourceType
    tenant_id: str
    id: str
    origin: Origin
    before: Stored | None
    after: Stored | None


class ChangeObserver(Protocol):
    def __call__(self, conn: Connection, change: Change) -> None: ...


class WriteHooks(Protocol):
    """What acts before or around a write rather than after it (the lifecycle rules,
    scimhub/lifecycle/hooks.py). Every method but `check_body` runs inside the write's
    transaction."""

    def check_body(self, rt: ResourceType, action: Action, body: Any) -> None:
        """Before anything is read: refuse a body (raise a ScimError)."""

    def link_on_create(
        self,
        conn: Connection,
        rt: ResourceType,
        tenant_id: str,
        data: dict[str, Any],
        origin: Origin,
    ) -> tuple[Stored | None, Stored] | None:
        """Instead of an insert: (before, after) when the create was linked to an existing
        resource; None to insert a new one."""

    def before_delete(
        self, conn: Connection, rt: ResourceType, tenant_id: str, current: Stored, origin: Origin
    ) -> None:
        """Before the row is deleted."""

    def __call__(self, conn: Connection, change: Change) -> None:
        """After the write: the first observer, before the service's own."""
