"""Role grants that the lifecycle makes or ends (lifecycle/roles.py) as events.

Registered as a grant listener of the lifecycle rules (web/app.py): it runs inside the
write that changed the grant, so the event commits with it or not at all."""

from __future__ import annotations

from sqlalchemy import Connection

from scimhub.events.outbox import emit
from scimhub.lifecycle.roles import RoleGrantChange


def role_grant_event(conn: Connection, change: RoleGrantChange) -> None:
    """`role.granted` / `role.revoked` about the user (or, for a group's role, the group
    whose members hold it: `subject_type` "Group")."""
    emit(
        conn,
        change.tenant_id,
        f"role.{change.op}",
        resource_type=change.subject_type,
        resource_id=change.subject_id,
        data={
            "role": change.role_key,
            "subject_id": change.subject_id,
            "subject_type": change.subject_type,
            "source": change.source,
            "via_group": change.via_group,
        },
    )
