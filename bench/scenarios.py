"""The measured requests: one session factory per scenario (see client.py)."""

from __future__ import annotations

import json
import random
import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from client import Request, Session, SessionFactory
from load import TENANT, user_body, user_id, user_name

BASE = f"/scim/v2/{TENANT}"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PAGE = 100
_NEXT_CURSOR = re.compile(rb'"nextCursor":"([^"]+)"')


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str
    title: str
    factory: SessionFactory


def health() -> Scenario:
    """GET /healthz: no database, no auth; the floor the HTTP stack sets."""

    def session(n: int) -> Session:
        while True:
            yield Request("GET", "/healthz")

    return Scenario("healthz", "GET /healthz (HTTP stack only)", session)


def get_user(users: int, seed: int) -> Scenario:
    def session(n: int) -> Session:
        rng = random.Random(seed * 1000 + n)
        while True:
            yield Request("GET", f"{BASE}/Users/{user_id(rng.randrange(users))}")

    return Scenario("get_user", "GET /Users/{id}", session)


def filter_user(users: int, seed: int) -> Scenario:
    def session(n: int) -> Session:
        rng = random.Random(seed * 1000 + n)
        while True:
            expression = f'userName eq "{user_name(rng.randrange(users))}"'
            yield Request("GET", f"{BASE}/Users?filter={quote(expression, safe='')}")

    return Scenario("filter_user", 'GET /Users?filter=userName eq "…"', session)


def list_index(users: int, seed: int) -> Scenario:
    """Pages at random startIndex (1-based), as an IdP's import pages through."""

    def session(n: int) -> Session:
        rng = random.Random(seed * 1000 + n)
        while True:
            start = rng.randint(1, max(1, users - PAGE + 1))
            yield Request("GET", f"{BASE}/Users?startIndex={start}&count={PAGE}")

    return Scenario("list_index", f"GET /Users?startIndex=(random)&count={PAGE}", session)


def list_cursor() -> Scenario:
    """Each connection walks the users with RFC 9865 cursors, from the first page on
    (and again from the first page after the last)."""

    def session(n: int) -> Session:
        cursor = ""
        while True:
            response = yield Request("GET", f"{BASE}/Users?count={PAGE}&cursor={quote(cursor)}")
            found = _NEXT_CURSOR.search(response.body)
            cursor = found.group(1).decode() if found else ""

    return Scenario("list_cursor", f"GET /Users?count={PAGE}&cursor=(next)", session)


def create_user(first_index: int) -> Scenario:
    """POST /Users with a new userName each time (unique across reruns on one database)."""
    tag = secrets.token_hex(4)

    def session(n: int) -> Session:
        k = 0
        while True:
            i = first_index + k
            body = user_body(i, f"new-{tag}-{n}-{k}@example.com")
            yield Request("POST", f"{BASE}/Users", json.dumps(body).encode(), expect=201)
            k += 1

    return Scenario("create_user", "POST /Users", session)


def patch_members(
    key: str, group_id: str, size: int, candidates: range, concurrency: int, exclude: bool
) -> Scenario:
    """Add a user to the group (Entra's shape), then remove it again (Okta's shape), so
    the group keeps its size. Each connection takes its own candidates."""
    suffix = "?excludedAttributes=members" if exclude else ""
    path = f"{BASE}/Groups/{group_id}{suffix}"

    def session(n: int) -> Session:
        k = n
        while True:
            uid = user_id(candidates[k % len(candidates)])
            k += concurrency
            add = {"op": "add", "path": "members", "value": [{"value": uid}]}
            remove = {"op": "remove", "path": f'members[value eq "{uid}"]'}
            for op in (add, remove):
                body = {"schemas": [PATCH_OP], "Operations": [op]}
                yield Request("PATCH", path, json.dumps(body).encode())

    title = f"PATCH /Groups/{{id}}{suffix} member add+remove, {size:,} members"
    return Scenario(key, title, session)
