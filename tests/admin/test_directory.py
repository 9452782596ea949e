"""Read access to a tenant's users and groups: SCIM filters, sorting, index and cursor
paging, and which provider created and last changed each resource."""

from __future__ import annotations

from typing import Any

from .conftest import Admin

PEOPLE = [
    ("ada@example.com", "Ada", "Lovelace", True),
    ("alan@example.com", "Alan", "Turing", True),
    ("grace@example.com", "Grace", "Hopper", False),
    ("edsger@example.com", "Edsger", "Dijkstra", True),
    ("barbara@example.com", "Barbara", "Liskov", True),
]


def populate(admin: Admin) -> tuple[str, dict[str, str]]:
    admin.activate_sso()
    token, _ = admin.new_token()
    ids = {}
    for user_name, given, family, active in PEOPLE:
        user = admin.add_user(
            token,
            user_name,
            name={"givenName": given, "familyName": family},
            emails=[{"value": user_name, "type": "work", "primary": True}],
            active=active,
        )
        ids[user_name] = user["id"]
    return token, ids


def page(admin: Admin, kind: str, query: str, role: str = "member") -> dict[str, Any]:
    response = admin.get(f"/tenants/acme/{kind}?{query}", role)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def names(body: dict[str, Any]) -> list[str]:
    return [r["userName"] for r in body["resources"]]


def test_filters(admin: Admin) -> None:
    populate(admin)
    body = page(admin, "users", 'filter=userName eq "ADA@example.com"')
    assert names(body) == ["ada@example.com"] and body["total_results"] == 1
    assert sorted(names(page(admin, "users", 'filter=userName sw "a"'))) == [
        "ada@example.com",
        "alan@example.com",
    ]
    assert names(page(admin, "users", "filter=active eq false")) == ["grace@example.com"]
    body = page(admin, "users", 'filter=emails[type eq "work"].value eq "alan@example.com"')
    assert names(body) == ["alan@example.com"]
    body = page(admin, "users", 'filter=name.familyName co "o" and not (active eq false)')
    assert sorted(names(body)) == ["ada@example.com", "barbara@example.com"]
    assert page(admin, "users", 'filter=userName eq "nobody"')["resources"] == []


def test_index_paging_and_sorting(admin: Admin) -> None:
    populate(admin)
    seen: list[str] = []
    for start in (1, 3, 5):
        body = page(admin, "users", f"startIndex={start}&count=2&sortBy=userName")
        assert body["total_results"] == 5 and body["start_index"] == start
        assert body["items_per_page"] == len(body["resources"]) <= 2
        seen += names(body)
    assert seen == sorted(p[0] for p in PEOPLE)
    body = page(admin, "users", "sortBy=name.givenName&sortOrder=descending&count=1")
    assert names(body) == ["grace@example.com"] and body["next_cursor"] is None


def test_cursor_paging(admin: Admin) -> None:
    _, ids = populate(admin)
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        body = page(admin, "users", f"count=2&cursor={cursor}")
        assert body["start_index"] is None
        seen += [r["id"] for r in body["resources"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        cursor = body["next_cursor"]
    assert pages == 3
    assert seen == list(ids.values())  # insertion order, no duplicates, none missing


def test_one_user_and_group_with_provenance(admin: Admin) -> None:
    token, ids = populate(admin)
    # Created through the provider segment `okta`, then changed on the bare tenant URL.
    created = admin.scim(
        "POST",
        "/okta/Users",
        token,
        json={"userName": "margaret@example.com", "name": {"givenName": "Margaret"}},
    )
    assert created.status_code == 201
    margaret = created.json()["id"]
    group = admin.add_group(token, "Pioneers", [ids["ada@example.com"], margaret])

    user = admin.get(f"/tenants/acme/users/{margaret}", "member").json()
    assert user["userName"] == "margaret@example.com"
    assert user["meta"]["createdProvider"] == "okta"
    assert user["meta"]["updatedProvider"] == "okta"
    assert [g["value"] for g in user["groups"]] == [group["id"]]
    assert user["meta"]["location"].endswith(f"/scim/v2/acme/Users/{margaret}")

    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    assert admin.scim("PATCH", f"/Users/{margaret}", token, json=patch).status_code == 200
    user = admin.get(f"/tenants/acme/users/{margaret}").json()
    assert (user["meta"]["createdProvider"], user["meta"]["updatedProvider"]) == ("okta", None)
    listed = page(admin, "users", 'filter=userName eq "margaret@example.com"')
    assert listed["resources"][0]["meta"]["createdProvider"] == "okta"

    found = admin.get(f"/tenants/acme/groups/{group['id']}", "member").json()
    assert found["displayName"] == "Pioneers"
    assert sorted(m["value"] for m in found["members"]) == sorted(
        [ids["ada@example.com"], margaret]
    )
    assert found["meta"]["createdProvider"] is None
    groups = page(admin, "groups", 'filter=displayName eq "pioneers"')
    assert [g["id"] for g in groups["resources"]] == [group["id"]]
    # Projection.
    slim = admin.get(f"/tenants/acme/users/{margaret}?attributes=userName").json()
    assert slim["userName"] == "margaret@example.com" and "name" not in slim


def test_other_tenants_resources_are_not_found(admin: Admin) -> None:
    admin.activate_sso(admin.globex)
    token, _ = admin.new_token(admin.globex)
    theirs = admin.add_user(token, "wile@globex.example", tenant="globex")
    assert admin.get(f"/tenants/acme/users/{theirs['id']}").status_code == 404
    assert admin.get(f"/tenants/globex/users/{theirs['id']}").status_code == 200
    assert admin.get(f"/tenants/globex/users/{theirs['id']}", "owner").status_code == 404
    assert page(admin, "users", "")["resources"] == []
