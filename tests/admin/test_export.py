"""Exports of users and groups as JSON and CSV: content, parsed back, and streamed a
page at a time."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from scimhub.admin import export
from scimhub.scim.schema import USER

from .conftest import Admin

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def populate(admin: Admin) -> dict[str, dict[str, Any]]:
    admin.activate_sso()
    token, _ = admin.new_token()
    ada = admin.add_user(
        token,
        "ada@example.com",
        externalId="00u1",
        displayName="Ada Lovelace",
        name={"givenName": "Ada", "familyName": "Lovelace"},
        emails=[
            {"value": "ada@home.example", "type": "home"},
            {"value": "ada@example.com", "type": "work", "primary": True},
        ],
        title="Countess, mathematician",
        **{ENTERPRISE: {"department": "R&D", "employeeNumber": "1815"}},
    )
    alan = admin.add_user(
        token,
        "alan@example.com",
        active=False,
        name={"givenName": "Alan", "familyName": "Turing"},
        emails=[{"value": "alan@example.com"}],
        **{ENTERPRISE: {"manager": {"value": ada["id"]}}},
    )
    # A value a spreadsheet would run as a formula, and a quote and a newline.
    mallory = admin.add_user(
        token, "mallory@example.com", displayName='=HYPERLINK("x")', title='say "hi"\nbye'
    )
    team = admin.add_group(token, "Team, core", [ada["id"], alan["id"]])
    empty = admin.add_group(token, "Nobody", [])
    return {"ada": ada, "alan": alan, "mallory": mallory, "team": team, "empty": empty}


def download(admin: Admin, name: str, role: str = "security-admin") -> Any:
    response = admin.get(f"/tenants/acme/export/{name}", role)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (f'attachment; filename="acme-{name}"')
    return response


def test_users_csv(admin: Admin) -> None:
    made = populate(admin)
    response = download(admin, "users.csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == list(export.USER_COLUMNS)
    by_name = {r["userName"]: r for r in rows}
    assert list(by_name) == ["ada@example.com", "alan@example.com", "mallory@example.com"]
    ada = by_name["ada@example.com"]
    assert ada["id"] == made["ada"]["id"]
    assert ada["externalId"] == "00u1"
    assert ada["active"] == ""  # not sent: absent
    assert (ada["displayName"], ada["givenName"], ada["familyName"]) == (
        "Ada Lovelace",
        "Ada",
        "Lovelace",
    )
    assert ada["primaryEmail"] == "ada@example.com"  # the primary one, not the first
    assert ada["title"] == "Countess, mathematician"
    assert (ada["department"], ada["employeeNumber"]) == ("R&D", "1815")
    assert ada["created"] == made["ada"]["meta"]["created"]
    assert ada["createdProvider"] == ada["updatedProvider"] == ""
    alan = by_name["alan@example.com"]
    assert alan["active"] == "false" and alan["managerId"] == made["ada"]["id"]
    assert alan["primaryEmail"] == "alan@example.com"  # no primary: the first
    mallory = by_name["mallory@example.com"]
    assert mallory["displayName"] == '\'=HYPERLINK("x")'
    assert mallory["title"] == 'say "hi"\nbye'


def test_users_json(admin: Admin) -> None:
    made = populate(admin)
    document = json.loads(download(admin, "users.json").content)
    assert document["tenant"] == "acme" and document["resource_type"] == "User"
    assert document["exported_at"].endswith("Z")
    resources = document["resources"]
    assert [r["id"] for r in resources] == [made[k]["id"] for k in ("ada", "alan", "mallory")]
    ada = resources[0]
    assert ada["emails"] == made["ada"]["emails"]
    assert ada[ENTERPRISE] == {"department": "R&D", "employeeNumber": "1815"}
    assert ada["meta"]["createdProvider"] is None
    # Verbatim: no formula escaping in JSON.
    assert resources[2]["displayName"] == '=HYPERLINK("x")'


def test_groups_csv_and_json(admin: Admin) -> None:
    made = populate(admin)
    rows = list(csv.DictReader(io.StringIO(download(admin, "groups.csv", "admin").text)))
    assert list(rows[0]) == list(export.GROUP_COLUMNS)
    team, empty = rows
    assert team["displayName"] == "Team, core" and team["id"] == made["team"]["id"]
    assert team["memberCount"] == "2"
    assert sorted(team["memberIds"].split(" ")) == sorted([made["ada"]["id"], made["alan"]["id"]])
    assert (empty["memberCount"], empty["memberIds"]) == ("0", "")
    document = json.loads(download(admin, "groups.json", "owner").content)
    assert document["resource_type"] == "Group"
    assert [g["displayName"] for g in document["resources"]] == ["Team, core", "Nobody"]
    assert len(document["resources"][0]["members"]) == 2


def test_empty_tenant(admin: Admin) -> None:
    assert download(admin, "users.csv").text.strip() == ",".join(export.USER_COLUMNS)
    assert json.loads(download(admin, "groups.json").content)["resources"] == []


def test_streamed_page_by_page(admin: Admin, monkeypatch: pytest.MonkeyPatch) -> None:
    admin.activate_sso()
    token, _ = admin.new_token()
    ids = [admin.add_user(token, f"user{i}@example.com")["id"] for i in range(7)]
    monkeypatch.setattr(export, "USER_PAGE", 3)
    reads = 0
    real_read = admin.db.read

    def counting_read() -> Any:
        nonlocal reads
        reads += 1
        return real_read()

    monkeypatch.setattr(admin.db, "read", counting_read)
    chunks = list(export.csv_export(admin.db, admin.acme, USER, "http://x/scim/v2/acme"))
    # One chunk (and one short read transaction) per page of 3: 3 + 3 + 1.
    assert reads == 3
    assert [c.decode().count("\r\n") for c in chunks] == [1 + 3, 3, 1]
    pages = list(export.json_export(admin.db, admin.acme, USER, "http://x/scim/v2/acme"))
    assert len(pages) == 2 + 3  # opening, three pages, closing
    document = json.loads(b"".join(pages))
    assert [r["id"] for r in document["resources"]] == ids
    monkeypatch.setattr(admin.db, "read", real_read)
    # Over HTTP, in order and complete.
    rows = list(csv.DictReader(io.StringIO(download(admin, "users.csv").text)))
    assert [r["id"] for r in rows] == ids
