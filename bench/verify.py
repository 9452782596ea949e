"""Checks that the bulk-loaded data is what the server itself would have written and
that it reads back over HTTP. Raises `LoadMismatch` on any difference."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from client import Request, request_once
from load import Dataset, user_body, user_id, user_name, user_rows
from scenarios import BASE

from scimhub.db.engine import Database
from scimhub.db.tables import groups, memberships, user_emails, users

# Columns that differ between any two users whatever their data.
_UNIQUE = {"pk", "id", "created", "last_modified"}


class LoadMismatch(AssertionError):
    pass


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise LoadMismatch(message)


def _get(port: int, token: str, path: str, expect: int = 200) -> Any:
    response, _ = request_once(Request("GET", path), port=port, token=token)
    _check(response.status == expect, f"GET {path}: {response.status} {response.body[:300]!r}")
    return json.loads(response.body) if response.body else None


def _same_as_store(dataset: Dataset, port: int, db: Database) -> None:
    """POST one more user over HTTP; its rows must equal the loader's rows for the same
    body, but for pk, id and timestamps."""
    i = dataset.users + 10_000_000  # an index the loader never used
    body = json.dumps(user_body(i)).encode()
    response, _ = request_once(
        Request("POST", f"{BASE}/Users", body, expect=201), port=port, token=dataset.token
    )
    _check(response.status == 201, f"POST /Users: {response.status} {response.body[:300]!r}")
    created_id = json.loads(response.body)["id"]
    expected_row, expected_emails = user_rows(dataset.tenant_id, i, datetime.now(UTC))
    with db.read() as conn:
        row = conn.execute(sa.select(users).where(users.c.id == created_id)).one()._asdict()
        emails = [
            r._asdict()
            for r in conn.execute(sa.select(user_emails).where(user_emails.c.user_id == created_id))
        ]
    for column, value in expected_row.items():
        if column not in _UNIQUE:
            _check(
                row[column] == value, f"users.{column}: server {row[column]!r}, loader {value!r}"
            )
    expected = [{**e, "user_id": created_id} for e in expected_emails]
    _check(emails == expected, f"user_emails: server {emails!r}, loader {expected!r}")
    deleted, _ = request_once(
        Request("DELETE", f"{BASE}/Users/{created_id}", expect=204),
        port=port,
        token=dataset.token,
    )
    _check(deleted.status == 204, f"DELETE /Users/{created_id}: {deleted.status}")


def _reads_back(dataset: Dataset, port: int) -> None:
    rng = random.Random(7)
    sample = {0, dataset.users // 2, dataset.users - 1, *rng.sample(range(dataset.users), 5)}
    for i in sorted(sample):
        user = _get(port, dataset.token, f"{BASE}/Users/{user_id(i)}")
        _check(user["userName"] == user_name(i), f"user {i}: {user['userName']}")
        _check(user["emails"][0]["value"] == user_name(i), f"user {i} emails: {user['emails']}")
        in_groups = {g["value"] for g in user.get("groups", [])}
        for name, members in dataset.group_members.items():
            member = i in members
            _check((dataset.groups[name] in in_groups) == member, f"user {i} groups: {in_groups}")
        # userName is caseExact false: any case finds the user.
        expression = quote(f'userName eq "{user_name(i).upper()}"', safe="")
        found = _get(port, dataset.token, f"{BASE}/Users?filter={expression}")
        _check(found["totalResults"] == 1, f"filter user {i}: {found['totalResults']} results")
        _check(found["Resources"][0]["id"] == user_id(i), f"filter user {i}: wrong user")
    listed = _get(port, dataset.token, f"{BASE}/Users?count=1")
    _check(listed["totalResults"] == dataset.users, f"totalResults {listed['totalResults']}")


def _groups(dataset: Dataset, port: int, db: Database) -> None:
    with db.read() as conn:
        for name, group_id in dataset.groups.items():
            stored = conn.execute(
                sa.select(groups.c.member_count).where(groups.c.id == group_id)
            ).scalar_one()
            rows = conn.execute(
                sa.select(sa.func.count()).where(memberships.c.group_id == group_id)
            ).scalar_one()
            size = len(dataset.group_members[name])
            _check(stored == rows == size, f"group {name}: {stored} / {rows} / {size} members")
    for name, group_id in dataset.groups.items():
        if len(dataset.group_members[name]) <= 1000:
            group = _get(port, dataset.token, f"{BASE}/Groups/{group_id}")
            got = {m["value"] for m in group.get("members", [])}
            want = {user_id(i) for i in dataset.group_members[name]}
            _check(got == want, f"group {name}: members differ over HTTP")


def verify(dataset: Dataset, port: int) -> None:
    db = Database(dataset.url, pool_size=1)
    try:
        _same_as_store(dataset, port, db)
        _reads_back(dataset, port)
        _groups(dataset, port, db)
    finally:
        db.dispose()
