"""SCIM writes that arrive together on SQLite share one commit (db/group.py), and each
is answered as if it had run alone: its own status, its own audit record and event, and
nothing kept of a request that failed. The app runs in-process (ASGI) so that the
requests are deterministically concurrent."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import httpx
import pytest
from conformance_support import USER_URN
from sqlalchemy import func, select

from scimhub.audit import AuditQuery, query
from scimhub.db.engine import Database
from scimhub.db.group import WriteGroup
from scimhub.db.tables import events, users
from scimhub.resources.changes import Change
from scimhub.settings import Settings
from scimhub.tenancy.tenants import Tenant
from scimhub.tenancy.tokens import issue_token
from scimhub.web.app import create_app
from scimhub.web.scim import ScimEndpoints

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _app(db: Database) -> Any:
    return create_app(Settings(database_url=str(db.engine.url), worker_in_serve=False), db)


def _token(db: Database, tenant: Tenant) -> str:
    with db.write() as conn:
        token, _ = issue_token(conn, tenant, created_by="test")
    return token


def _scim(app: Any) -> ScimEndpoints:
    endpoint = app.routes[0].endpoint
    assert isinstance(endpoint.__self__, ScimEndpoints)
    return endpoint.__self__


async def _post_users(app: Any, token: str, names: list[str]) -> list[httpx.Response]:
    return await _post_users_as(app, [(name, token) for name in names])


async def _post_users_as(app: Any, posts: list[tuple[str, str]]) -> list[httpx.Response]:
    """POST /Users for each (userName, bearer token), all at once."""
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        return await asyncio.gather(
            *(
                client.post(
                    "/scim/v2/acme/Users",
                    json={"schemas": [USER_URN], "userName": name},
                    headers={"authorization": f"Bearer {bearer}"},
                )
                for name, bearer in posts
            )
        )


def _user_names(db: Database, tenant: Tenant) -> list[str]:
    with db.read() as conn:
        rows = conn.execute(
            select(users.c.user_name).where(users.c.tenant_id == tenant.id).order_by(users.c.pk)
        )
        return [row.user_name for row in rows]


def _audit(db: Database, tenant: Tenant) -> list[tuple[str, str, int | None]]:
    with db.read() as conn:
        records, _ = query(conn, tenant.id, AuditQuery(source="scim"))
    return sorted((r["operation"], r["outcome"], r["status"]) for r in records)


def _created_events(db: Database, tenant: Tenant) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(events)
                .where(events.c.tenant_id == tenant.id, events.c.type == "user.created")
            ).scalar_one()
        )


def test_creates_that_arrive_together_commit_once_and_each_gets_its_answer(
    sqlite_db: Database, sqlite_acme: Tenant, group_closes: list[bool]
) -> None:
    app = _app(sqlite_db)
    token = _token(sqlite_db, sqlite_acme)
    names = ["a@example.com", "b@example.com", "c@example.com", "A@example.com"]
    answers = asyncio.run(_post_users(app, token, names))
    # The fourth is the first's userName in another case: 409, inside the same group
    # (it failed before it wrote, so the group stood).
    assert [a.status_code for a in answers] == [201, 201, 201, 409]
    assert answers[3].json()["scimType"] == "uniqueness"
    assert answers[3].headers["content-type"].startswith("application/scim+json")
    assert [a.json()["userName"] for a in answers[:3]] == names[:3]
    assert group_closes == [True]
    assert _user_names(sqlite_db, sqlite_acme) == names[:3]
    assert _created_events(sqlite_db, sqlite_acme) == 3
    refusal = ("POST /Users", "failed", 409)
    assert _audit(sqlite_db, sqlite_acme) == sorted([("create", "success", None)] * 3 + [refusal])


def test_a_request_failing_after_its_write_leaves_nothing_and_the_others_stand(
    sqlite_db: Database, sqlite_acme: Tenant, group_closes: list[bool]
) -> None:
    app = _app(sqlite_db)
    token = _token(sqlite_db, sqlite_acme)

    def breaks_on_boom(_conn: Any, change: Change) -> None:
        # A fault after the user's row, its audit record and its event were written.
        if change.after is not None and change.after.data.get("userName") == "boom@example.com":
            raise RuntimeError("observer fault")

    _scim(app).services["users"].observers.append(breaks_on_boom)
    names = ["a@example.com", "boom@example.com", "c@example.com"]
    answers = asyncio.run(_post_users(app, token, names))
    assert [a.status_code for a in answers] == [201, 500, 201]
    assert answers[1].json()["status"] == "500"
    assert "observer fault" not in answers[1].text
    # Rolled back together, then each alone: the failure kept nothing, the others once.
    assert group_closes == [False]
    assert _user_names(sqlite_db, sqlite_acme) == ["a@example.com", "c@example.com"]
    assert _created_events(sqlite_db, sqlite_acme) == 2
    failure = ("POST /Users", "failed", 500)
    assert _audit(sqlite_db, sqlite_acme) == sorted([("create", "success", None)] * 2 + [failure])


def test_the_members_of_a_group_share_the_token_check(
    sqlite_db: Database, sqlite_acme: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One transaction: a token's row cannot change between its members, so the first
    # member's check serves the others. Another token is checked on its own; a token
    # that is not live is refused inside the group like anywhere else.
    app = _app(sqlite_db)
    token, other = _token(sqlite_db, sqlite_acme), _token(sqlite_db, sqlite_acme)
    lookups: list[str] = []
    real_open = sqlite_db.open_group

    def open_group() -> WriteGroup:
        group = real_open()
        driver = group.connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        driver.set_trace_callback(lambda sql: lookups.append(sql) if "FROM tokens" in sql else None)
        return group

    monkeypatch.setattr(sqlite_db, "open_group", open_group)

    posts = [
        ("a@example.com", token),
        ("b@example.com", token),
        ("c@example.com", other),
        ("d@example.com", token),
        ("e@example.com", "not-a-token"),
    ]
    answers = asyncio.run(_post_users_as(app, posts))
    assert [a.status_code for a in answers] == [201, 201, 201, 201, 401]
    # token, other, and the refused one: three lookups for five requests.
    assert len(lookups) == 3
    assert _user_names(sqlite_db, sqlite_acme) == [f"{c}@example.com" for c in "abcd"]
