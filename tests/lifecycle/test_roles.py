"""Groups as roles: adoption by externalId and by normalized name, privileged names,
rename, delete, nested groups and cycles, first-sync merge then IdP master, and the
grant changes handed to listeners (the event outbox listens there)."""

from __future__ import annotations

from .conftest import Life


def test_group_adopts_a_role_by_external_id_then_by_normalized_name(life: Life) -> None:
    life.app_role("support", name="Support", external_id="ext-42")
    life.app_role("salesteam", name="Sales")
    ada = life.new_user("ada@acme.com")
    helpdesk = life.new_group("Helpdesk", [ada["id"]], externalId="ext-42")
    sales = life.new_group("Sales Team", [ada["id"]])
    other = life.new_group("Marketing Ops", [ada["id"]])
    roles = life.roles()
    assert roles["support"]["group_id"] == helpdesk["id"]
    assert roles["support"]["source"] == "app"
    assert roles["salesteam"]["group_id"] == sales["id"]
    assert roles["marketingops"] == {
        "key": "marketingops",
        "name": "Marketing Ops",
        "external_id": None,
        "source": "scim",
        "privileged": False,
        "group_id": other["id"],
    }
    assert life.roles_of(ada["id"]) == ["marketingops", "salesteam", "support"]


def test_scim_never_grants_owner_or_admin(life: Life) -> None:
    life.app_role("admin")
    ada = life.new_user("ada@acme.com")
    group = life.new_group("Admin", [ada["id"]])
    roles = life.roles()
    assert roles["scim-admin"]["group_id"] == group["id"]
    assert roles["scim-admin"]["privileged"] is False
    assert roles["admin"]["privileged"] is True
    assert roles["admin"]["group_id"] is None
    assert life.roles_of(ada["id"]) == ["scim-admin"]


def test_rename_keeps_members_and_grants(life: Life) -> None:
    ada = life.new_user("ada@acme.com")
    group = life.new_group("Sales", [ada["id"]])
    response = life.patch(
        "Groups", group["id"], {"op": "replace", "path": "displayName", "value": "Revenue"}
    )
    assert response.status_code == 200
    role = life.roles()["sales"]
    assert role["name"] == "Revenue"
    assert role["group_id"] == group["id"]
    assert life.roles_of(ada["id"]) == ["sales"]


def test_membership_changes_and_group_delete_change_roles_at_once(life: Life) -> None:
    ada = life.new_user("ada@acme.com")
    group = life.new_group("Ops")
    assert life.roles_of(ada["id"]) == []
    life.patch(
        "Groups", group["id"], {"op": "add", "path": "members", "value": [{"value": ada["id"]}]}
    )
    assert life.roles_of(ada["id"]) == ["ops"]
    life.patch("Groups", group["id"], {"op": "remove", "path": f'members[value eq "{ada["id"]}"]'})
    assert life.roles_of(ada["id"]) == []
    life.patch(
        "Groups", group["id"], {"op": "add", "path": "members", "value": [{"value": ada["id"]}]}
    )
    assert life.scim("DELETE", f"/Groups/{group['id']}").status_code == 204
    assert life.roles_of(ada["id"]) == []
    assert life.roles()["ops"]["group_id"] is None
    ops = [(c.op, c.role_key, c.subject_id) for c in life.granted if c.role_key == "ops"]
    assert ops == [
        ("granted", "ops", ada["id"]),
        ("revoked", "ops", ada["id"]),
        ("granted", "ops", ada["id"]),
        ("revoked", "ops", ada["id"]),
    ]


def test_nested_groups_and_cycle_refusal(life: Life) -> None:
    ada = life.new_user("ada@acme.com")
    child = life.new_group("Backend", [ada["id"]])
    parent = life.new_group("Engineering", [child["id"]])
    assert life.roles_of(ada["id"]) == ["backend", "engineering"]
    groups = {
        g["value"]: g["type"] for g in life.scim("GET", f"/Users/{ada['id']}").json()["groups"]
    }
    assert groups == {child["id"]: "direct", parent["id"]: "indirect"}
    response = life.patch(
        "Groups", child["id"], {"op": "add", "path": "members", "value": [{"value": parent["id"]}]}
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert "cycle" in response.json()["detail"]
    assert life.roles_of(ada["id"]) == ["backend", "engineering"]


def test_default_role(life: Life) -> None:
    refused = life.admin("PATCH", "/tenants/acme/lifecycle", json={"default_role_key": "nope"})
    assert refused.status_code == 400
    life.app_role("viewer")
    life.policy(default_role_key="viewer")
    ada = life.new_user("ada@acme.com")
    assert life.roles_of(ada["id"]) == ["viewer"]
    assert life.grants(ada["id"]) == [("viewer", "default")]


def test_first_sync_merges_hand_grants_then_the_idp_is_master(life: Life) -> None:
    for key in ("billing", "ops", "owner"):
        life.app_role(key)
    jit = life.jit("ada@acme.com")
    for key in ("billing", "owner"):
        assert life.admin("PUT", f"/tenants/acme/users/{jit['id']}/grants/{key}").is_success
    assert life.grants(jit["id"]) == [("billing", "manual"), ("owner", "manual")]

    # The first sync links the account and merges what was granted by hand.
    linked = life.new_user("ada@acme.com")
    assert linked["id"] == jit["id"]
    assert life.grants(jit["id"]) == [("billing", "merged"), ("owner", "manual")]

    # Afterwards the IdP is master: a hand grant ends at the user's next sync; merged
    # grants and privileged ones (never SCIM's to give or take) stay.
    assert life.policy(first_sync_done=True)["first_sync_done"] is True
    assert life.admin("PUT", f"/tenants/acme/users/{jit['id']}/grants/ops").is_success
    assert ("ops", "manual") in life.grants(jit["id"])
    response = life.patch("Users", jit["id"], {"op": "replace", "path": "title", "value": "CTO"})
    assert response.status_code == 200
    assert life.grants(jit["id"]) == [("billing", "merged"), ("owner", "manual")]
    assert life.roles_of(jit["id"]) == ["billing", "owner"]
    revoked = [(c.op, c.role_key, c.source) for c in life.granted if c.role_key == "ops"]
    assert revoked == [("granted", "ops", "manual"), ("revoked", "ops", "manual")]
