"""What the lifecycle does around SCIM writes (`resources/service.py` calls it):

- before a write: refuse writes to the app's attributes (`appowned.py`);
- in a user create's transaction: link to, or restore, the person's existing account
  instead of creating one (`linking.py`, `retention.py`);
- before a delete: deprovision (retain) or purge the user per the tenant's policy;
  remember a group's role and direct members;
- after a write (as a `ChangeObserver`): revoke sessions on deactivation, let the IdP
  replace hand grants (merge on the first sync), map groups onto roles (adopt, create,
  rename, unmap).

Role grant changes go to `grant_listeners`: callables `(conn, RoleGrantChange)` run in
the write's transaction. The event outbox registers one there (events/roles.py) to emit "role
granted / revoked" events; with no listener nothing is computed for member deltas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from scimhub.db.tables import memberships
from scimhub.lifecycle import appowned, linking, retention, roles
from scimhub.lifecycle.accounts import record_link, revoke_sessions, set_state
from scimhub.lifecycle.policies import get_policy
from scimhub.lifecycle.roles import RoleGrantChange
from scimhub.resources.changes import Action, Change, Origin
from scimhub.resources.sqlpaging import utcnow
from scimhub.resources.store import Stored
from scimhub.resources.users import UserStore
from scimhub.scim.errors import Conflict, Uniqueness
from scimhub.scim.schema import GROUP, USER, ResourceType

GrantListener = Callable[[Connection, RoleGrantChange], None]

_DIRECT_MEMBERS = sa.select(memberships.c.member_id, memberships.c.member_type).where(
    memberships.c.tenant_id == sa.bindparam("tenant_id"),
    memberships.c.group_id == sa.bindparam("group_id"),
)


class LifecycleHooks:
    def __init__(self, dialect: str, grant_listeners: list[GrantListener] | None = None) -> None:
        self.users = UserStore(dialect)
        self.grant_listeners: list[GrantListener] = list(grant_listeners or [])

    # -- before the transaction ------------------------------------------------------------

    def check_body(self, rt: ResourceType, action: Action, body: Any) -> None:
        if rt is not USER:
            return
        if action == "patch":
            appowned.check_patch_body(body)
        else:
            appowned.check_resource_body(body)

    # -- in the create's transaction -------------------------------------------------------

    def link_on_create(
        self,
        conn: Connection,
        rt: ResourceType,
        tenant_id: str,
        data: dict[str, Any],
        origin: Origin,
    ) -> tuple[Stored | None, Stored] | None:
        """(the account as it was, the account as written) when the create linked to an
        existing account or restored a retained one; None to create a new account."""
        if rt is not USER:
            return None
        match = linking.find_match(conn, tenant_id, data, origin.provider)
        if match is None:
            return None
        policy = get_policy(conn, tenant_id)
        before: Stored | None = None
        if match.target == "app":
            if policy.linking_policy == "refuse":
                raise Uniqueness(
                    f"an account for this person exists already (matched by {match.matched_by})"
                    " and this tenant's linking policy refuses to link it"
                )
            before = self.users.get(conn, tenant_id, match.id, lock=True)
            if before is None:
                return None
            stored = self.users.update(
                conn,
                tenant_id,
                match.id,
                data,
                expected_version=before.version,
                provider=origin.provider,
            )
            if stored is None:
                raise Conflict(f"User {match.id} is being changed by another request; retry")
            set_state(conn, tenant_id, match.id, linked_at=utcnow())
        else:
            restored = retention.restore(conn, tenant_id, match.id, data, provider=origin.provider)
            if restored is None:
                return None
            stored = restored
        record_link(
            conn,
            tenant_id,
            stored.id,
            matched_by=match.matched_by,
            target=match.target,
            provider=origin.provider,
            actor=origin.actor,
        )
        self.emit(
            conn,
            roles.sync_hand_grants(
                conn, tenant_id, stored.id, first_sync=lambda: not policy.first_sync_done
            ),
        )
        return before, stored

    # -- before a delete --------------------------------------------------------------------

    def before_delete(
        self, conn: Connection, rt: ResourceType, tenant_id: str, current: Stored, origin: Origin
    ) -> None:
        if rt is USER:
            if get_policy(conn, tenant_id).delete_policy == "purge":
                retention.purge_account(conn, current.id)
            else:
                retention.retain(conn, tenant_id, current, actor=origin.actor)
            return
        role = roles.unmap_group(conn, current.id)
        if role is None or not self.grant_listeners:
            return
        rows = conn.execute(_DIRECT_MEMBERS, {"tenant_id": tenant_id, "group_id": current.id})
        self.emit(
            conn,
            [
                RoleGrantChange(
                    tenant_id, "revoked", role.key, r.member_id, r.member_type, "group", current.id
                )
                for r in rows
            ],
        )

    # -- after a write (ChangeObserver) -------------------------------------------------------

    def __call__(self, conn: Connection, change: Change) -> None:
        if change.rt is USER:
            self._user_written(conn, change)
        elif change.rt is GROUP:
            self._group_written(conn, change)

    def _user_written(self, conn: Connection, change: Change) -> None:
        if change.action not in ("replace", "patch") or change.after is None:
            return
        was_active = change.before is None or change.before.data.get("active") is not False
        if was_active and change.after.data.get("active") is False:
            # Deactivation: sessions issued before now are invalid at once.
            revoke_sessions(conn, change.tenant_id, change.id)
        # The IdP synced this user: it is master over hand grants (merge on first sync).
        tenant_id = change.tenant_id
        self.emit(
            conn,
            roles.sync_hand_grants(
                conn,
                tenant_id,
                change.id,
                first_sync=lambda: not get_policy(conn, tenant_id).first_sync_done,
            ),
        )

    def _group_written(self, conn: Connection, change: Change) -> None:
        after = change.after
        if after is None:
            return
        name = str(after.data.get("displayName") or "")
        role: roles.Role | None = None
        if change.action == "create":
            external_id = after.data.get("externalId")
            role, _ = roles.adopt_for_group(
                conn,
                change.tenant_id,
                change.id,
                name,
                external_id if isinstance(external_id, str) else None,
            )
        elif change.before is not None and change.before.data.get("displayName") != name:
            # A rename keeps the role (its key, its members' grants) and renames it.
            roles.rename_for_group(conn, change.id, name)
        delta = after.delta
        if not self.grant_listeners or delta is None or not (delta.added or delta.removed):
            return
        role = role or roles.role_of_group(conn, change.id)
        if role is None:
            return
        found = [
            RoleGrantChange(change.tenant_id, "granted", role.key, i, kind, "group", change.id)  # type: ignore[arg-type]
            for i, kind in delta.added
        ]
        if delta.removed:
            kinds = _member_kinds(conn, change.tenant_id, list(delta.removed))
            found += [
                RoleGrantChange(
                    change.tenant_id,
                    "revoked",
                    role.key,
                    i,
                    kinds.get(i, "User"),
                    "group",
                    change.id,
                )
                for i in delta.removed
            ]
        self.emit(conn, found)

    def emit(self, conn: Connection, found: list[RoleGrantChange]) -> None:
        """Hands each change to every grant listener (also for the admin API's grants)."""
        for item in found:
            for listener in self.grant_listeners:
                listener(conn, item)


def _member_kinds(conn: Connection, tenant_id: str, ids: list[str]) -> dict[str, Any]:
    """A removed member's type: a group id is in `groups`; anything else was a user."""
    from scimhub.db.tables import groups

    found = conn.execute(
        sa.select(groups.c.id).where(groups.c.tenant_id == tenant_id, groups.c.id.in_(ids))
    ).scalars()
    return {i: "Group" for i in found}
