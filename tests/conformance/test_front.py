"""web/front.py: SCIM requests go straight to their endpoint, ahead of the router, and
are answered exactly as the router's SCIM routes answer them; whatever the front does
not take (no tenant segment, a method no route takes, other paths) is the router's."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from conformance_support import USER_URN

from scimhub.db.engine import Database
from scimhub.settings import Settings
from scimhub.tenancy.tenants import Tenant
from scimhub.tenancy.tokens import issue_token
from scimhub.web.app import create_app
from scimhub.web.front import ScimFront


@pytest.fixture
def served(sqlite_db: Database, sqlite_acme: Tenant) -> tuple[Any, str]:
    with sqlite_db.write() as conn:
        token, _ = issue_token(conn, sqlite_acme, created_by="test")
    settings = Settings(database_url=str(sqlite_db.engine.url), worker_in_serve=False)
    return create_app(settings, sqlite_db), token


def _front(app: Any) -> ScimFront:
    """The front in the middleware stack the app runs (built here, once)."""
    app.middleware_stack = layer = app.build_middleware_stack()
    while not isinstance(layer, ScimFront):
        layer = layer.app
    return layer


REQUESTS = [
    ("GET", "/scim/v2/acme/Users"),
    ("GET", "/scim/v2/acme/Users/"),
    ("GET", "/scim/v2/acme/users?count=1"),
    ("GET", "/scim/v2/acme/Users/no-such-id"),
    ("GET", "/scim/v2/acme"),
    ("GET", "/scim/v2/acme/"),
    ("GET", "/scim/v2/acme/ServiceProviderConfig"),
    ("POST", "/scim/v2/acme/ServiceProviderConfig"),
    ("GET", "/scim/v2/acme/Nope"),
    ("GET", "/scim/v2/globex/Users"),
    ("GET", "/scim/v2/"),
    ("GET", "/scim/v2"),
    ("GET", "/scim/v2//Users"),
    ("TRACE", "/scim/v2/acme/Users"),
    ("DELETE", "/scim/v2/acme/Users"),
    ("GET", "/healthz"),
]


async def _answers(app: Any, token: str, root_path: str = "") -> list[tuple[int, str, Any]]:
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    headers = {"authorization": f"Bearer {token}"}
    out = []
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for method, path in REQUESTS:
            answer = await client.request(method, root_path + path, headers=headers)
            body = answer.json() if answer.content else None
            if isinstance(body, dict):
                body = {k: v for k, v in body.items() if k != "detail"}
                body.pop("Resources", None)
            out.append((answer.status_code, answer.headers.get("content-type", ""), body))
    return out


@pytest.mark.parametrize("root_path", ["", "/prefix"])
def test_the_front_answers_as_the_router_does(served: tuple[Any, str], root_path: str) -> None:
    app, token = served
    front = _front(app)
    taken: list[str] = []
    endpoint = front.endpoint

    async def counted(request: Any) -> Any:
        taken.append(request.url.path)
        return await endpoint(request)

    front.endpoint = counted
    through_front = asyncio.run(_answers(app, token, root_path))
    taken_by_front = list(taken)
    front.methods = frozenset()  # now the router answers everything
    taken.clear()
    through_router = asyncio.run(_answers(app, token, root_path))
    assert through_front == through_router
    assert taken == []
    # The front took the SCIM paths with a tenant segment and a SCIM method, only.
    assert len(taken_by_front) == 11
    statuses = [status for status, _, _ in through_front]
    assert statuses == [
        200,
        200,
        200,
        404,
        404,
        404,
        200,
        405,
        404,
        401,
        404,
        404,
        404,
        405,
        405,
        200,
    ]


def test_a_create_through_the_front(served: tuple[Any, str]) -> None:
    app, token = served

    async def create() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post(
                "/scim/v2/acme/Users/",
                json={"schemas": [USER_URN], "userName": "front@example.com"},
                headers={"authorization": f"Bearer {token}"},
            )

    created = asyncio.run(create())
    assert created.status_code == 201
    assert created.headers["location"].endswith(f"/scim/v2/acme/Users/{created.json()['id']}")
    assert created.headers["x-request-id"]
