"""Write observers (resources/changes.py): what each write reports, in its transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection

from scimhub.db.engine import Database
from scimhub.resources.changes import Change, Origin
from scimhub.resources.service import Preconditions, ResourceService
from scimhub.scim.listing import parse_query_params
from scimhub.scim.projection import Projection
from scimhub.scim.schema import GROUP, USER
from scimhub.settings import Settings
from scimhub.tenancy.tenants import Tenant

BASE = "http://scim.test/scim/v2/acme/"
EVERYTHING = Projection()
OKTA = Origin(provider="okta", actor="token:t1", request_id="r1", user_agent="Okta SCIM")


class Recorder:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    def __call__(self, conn: Connection, change: Change) -> None:
        self.changes.append(change)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def users(db: Database, recorder: Recorder) -> ResourceService:
    return ResourceService(db, Settings(), USER, observers=[recorder])


@pytest.fixture
def groups(db: Database, recorder: Recorder) -> ResourceService:
    return ResourceService(db, Settings(), GROUP, observers=[recorder])


def _user(users: ResourceService, tenant: Tenant, name: str) -> str:
    body = {"schemas": [USER.schema], "userName": name}
    return str(users.create(tenant.id, body, EVERYTHING, BASE).body["id"])


def _patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": list(operations),
    }


def test_create_reports_the_new_row_and_the_origin(
    users: ResourceService, tenant: Tenant, recorder: Recorder
) -> None:
    body = {"schemas": [USER.schema], "userName": "ada"}
    created = users.create(tenant.id, body, EVERYTHING, BASE, origin=OKTA)
    [change] = recorder.changes
    assert change.action == "create" and change.rt is USER
    assert change.id == created.body["id"] and change.tenant_id == tenant.id
    assert change.before is None and change.after is not None
    assert change.after.data["userName"] == "ada"
    assert change.origin == OKTA


def test_patch_reports_before_and_after(
    users: ResourceService, tenant: Tenant, recorder: Recorder
) -> None:
    id = _user(users, tenant, "ada")
    op = {"op": "replace", "path": "active", "value": False}
    users.patch(tenant.id, id, _patch(op), Preconditions(), EVERYTHING, BASE)
    change = recorder.changes[-1]
    assert change.action == "patch"
    assert change.before is not None and change.after is not None
    assert "active" not in change.before.data and change.after.data["active"] is False
    assert change.after.version == change.before.version + 1


def test_a_write_that_changes_nothing_reports_nothing(
    users: ResourceService, tenant: Tenant, recorder: Recorder
) -> None:
    id = _user(users, tenant, "ada")
    op = {"op": "replace", "path": "userName", "value": "ada"}
    users.patch(tenant.id, id, _patch(op), Preconditions(), EVERYTHING, BASE)
    assert [c.action for c in recorder.changes] == ["create"]


def test_delete_reports_the_row_it_removed(
    users: ResourceService, tenant: Tenant, recorder: Recorder
) -> None:
    id = _user(users, tenant, "ada")
    users.delete(tenant.id, id, Preconditions(), origin=OKTA)
    change = recorder.changes[-1]
    assert change.action == "delete" and change.after is None
    assert change.before is not None and change.before.data["userName"] == "ada"


def test_member_delta_counts_only_real_changes(
    users: ResourceService, groups: ResourceService, tenant: Tenant, recorder: Recorder
) -> None:
    a, b, c = (_user(users, tenant, n) for n in ("a", "b", "c"))
    body = {"schemas": [GROUP.schema], "displayName": "Sales", "members": [{"value": a}]}
    gid = str(groups.create(tenant.id, body, EVERYTHING, BASE).body["id"])
    created = recorder.changes[-1].after
    assert created is not None and created.delta is not None
    assert created.delta.added == ((a, "User"),)

    # Adding a present member and removing an absent one are no-ops (RFC 7644 §3.5.2).
    groups.patch(
        tenant.id,
        gid,
        _patch(
            {"op": "add", "path": "members", "value": [{"value": a}, {"value": b}]},
            {"op": "remove", "path": f'members[value eq "{c}"]'},
        ),
        Preconditions(),
        EVERYTHING,
        BASE,
    )
    after = recorder.changes[-1].after
    assert after is not None and after.delta is not None
    assert after.delta.added == ((b, "User"),) and after.delta.removed == ()
    assert after.member_count == 2

    # A PUT replaces the members: the ones kept are neither added nor removed.
    put = {
        "schemas": [GROUP.schema],
        "displayName": "Sales",
        "members": [{"value": b}, {"value": c}],
    }
    groups.replace(tenant.id, gid, put, Preconditions(), EVERYTHING, BASE)
    after = recorder.changes[-1].after
    assert after is not None and after.delta is not None
    assert after.delta.added == ((c, "User"),) and after.delta.removed == (a,)
    assert after.member_count == 2

    # Added then removed in one request: it was never there.
    groups.patch(
        tenant.id,
        gid,
        _patch(
            {"op": "add", "path": "members", "value": [{"value": a}]},
            {"op": "remove", "path": "members", "value": [{"value": a}, {"value": b}]},
        ),
        Preconditions(),
        EVERYTHING,
        BASE,
    )
    after = recorder.changes[-1].after
    assert after is not None and after.delta is not None
    assert after.delta.added == () and after.delta.removed == (b,)
    assert after.member_count == 1


def test_an_observer_that_fails_rolls_the_write_back(db: Database, tenant: Tenant) -> None:
    def refuse(conn: Connection, change: Change) -> None:
        raise RuntimeError("observer failed")

    users = ResourceService(db, Settings(), USER, observers=[refuse])
    with pytest.raises(RuntimeError):
        users.create(tenant.id, {"schemas": [USER.schema], "userName": "ada"}, EVERYTHING, BASE)
    everyone = parse_query_params({}, default_count=100, max_count=100)
    found = ResourceService(db, Settings(), USER).search(tenant.id, everyone, BASE)
    assert found["totalResults"] == 0
